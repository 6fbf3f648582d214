"""Score one model on the catalog's benchmarks and report its numbers (what the scores asset runs)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import duckdb
import polars as pl

from rb_pipeline.catalog.entries import Benchmark, ModelEntry, asset_name
from rb_pipeline.core.lake import read_dataset
from rb_pipeline.core.settings import ScorerSettings
from rb_pipeline.engine.runs import RunResult
from rb_pipeline.engine.scoring import score_model
from rb_pipeline.models.registry import JUDGE_TYPES
from rb_pipeline.sources.datasets import quality_failure


@dataclass(frozen=True)
class Evaluation:
    run: RunResult
    scored_benchmarks: list[str]
    skipped: dict[str, str]  # benchmark -> why it was not scored


def evaluate(
    entry: ModelEntry,
    benchmarks: dict[str, Benchmark],
    settings: ScorerSettings,
    device: str,
    log: Callable[[str], None] = print,
) -> Evaluation:
    """Score every benchmark whose normalized data passed its quality gate; each one skipped is one
    line naming its dataset asset (`normalized/<name>`)."""
    skipped = {name: why for name in benchmarks if (why := quality_failure(name))}
    for name, why in skipped.items():
        log(f"skipped {dataset_asset_name(name)}: {why}")
    chosen = [name for name in benchmarks if name not in skipped]
    if not chosen:
        raise ValueError(
            "no benchmark can be scored: "
            + "; ".join(f"{dataset_asset_name(k)}: {v}" for k, v in skipped.items())
        )
    responses = pl.concat([read_dataset("responses", name) for name in chosen])
    examples = pl.concat([read_dataset("examples", name) for name in chosen])
    run = score_model(entry, responses, examples, settings, chosen, device=device, log=log)
    return Evaluation(run, chosen, skipped)


def dataset_asset_name(benchmark: str) -> str:
    """The benchmark's dataset asset as the UI names it (assets.datasets.dataset_key)."""
    return f"normalized/{asset_name(benchmark)}"


# What a run should have covered, what it did, and its NaN scores: responses for pointwise models;
# examples for judges (JUDGE_TYPES), whose NaNs are the pairwise judge's own scores.
_POINTWISE_COVERAGE = """
    select count(distinct r.response_id), count(distinct s.response_id),
           count(distinct s.response_id) filter (where isnan(s.score))
    from responses r join latest_runs l on l.benchmark = r.benchmark and l.model = $model
    left join run_scores s on s.run_id = l.run_id and s.response_id = r.response_id"""
_JUDGE_COVERAGE = """
    select (select count(*) from (select distinct e.benchmark, e.example_id from examples e
                join latest_runs l on l.benchmark = e.benchmark and l.model = $model where l.run_id = $run)),
           (select count(*) from (select distinct benchmark, example_id from judgments where run_id = $run)),
           (select count(*) from judgments where run_id = $run and isnan(judge_score))"""


def coverage(
    con: duckdb.DuckDBPyConnection, model_id: str, model_type: str, run_id: str
) -> tuple[int, int, int, str]:
    """(to score, scored, NaN scores, unit) of one run, for the scores asset's checks; `con` holds the
    views (`warehouse.in_memory`)."""
    if model_type in JUDGE_TYPES:
        params = {"model": model_id, "run": run_id}
        total, covered, nan = con.execute(_JUDGE_COVERAGE, params).fetchall()[0]
        return total, covered, nan, "examples"
    total, covered, nan = con.execute(_POINTWISE_COVERAGE, {"model": model_id}).fetchall()[0]
    return total, covered, nan, "responses"


def model_report(con: duckdb.DuckDBPyConnection, model_id: str) -> tuple[dict, pl.DataFrame]:
    """The model's leaderboard row and its per-subset accuracies; `con` holds the views."""
    row = con.sql("select * from leaderboard where model = $1", params=[model_id]).pl()
    subsets = con.sql(
        "select benchmark, subset, n, accuracy from subset_accuracy where model = $1 order by 1, 2",
        params=[model_id],
    ).pl()
    return (row.row(0, named=True) if row.height else {}), subsets


def markdown_table(frame: pl.DataFrame, digits: int = 4) -> str:
    """A small frame as a markdown table (floats rounded)."""
    header = "| " + " | ".join(frame.columns) + " |\n|" + "---|" * len(frame.columns) + "\n"

    def cell(value: object) -> str:
        if value is None:
            return "—"
        return f"{value:.{digits}f}" if isinstance(value, float) else str(value)

    return header + "\n".join("| " + " | ".join(cell(v) for v in row) + " |" for row in frame.iter_rows())
