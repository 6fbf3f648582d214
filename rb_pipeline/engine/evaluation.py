"""Score one model on the catalog's benchmarks and report its numbers (what the scores asset runs)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import polars as pl

from rb_pipeline.catalog.entries import Benchmark, ModelEntry, asset_name
from rb_pipeline.catalog.steps import kind_mismatch
from rb_pipeline.core.lake import read_dataset
from rb_pipeline.core.settings import ScorerSettings
from rb_pipeline.core.text import table_cell
from rb_pipeline.engine.runs import RunResult
from rb_pipeline.engine.scoring import score_model
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
    device: str | None,
    log: Callable[[str], None] = print,
) -> Evaluation:
    """Score every benchmark whose normalized data passed its quality gate (and whose kind the model
    scores); each one skipped is one line naming its dataset asset (`normalized/<name>`)."""
    chosen, skipped, responses, examples = scorable_rows(entry, benchmarks, log)
    run = score_model(entry, responses, examples, settings, chosen, device=device, log=log)
    return Evaluation(run, chosen, skipped)


def scorable_rows(
    entry: ModelEntry, benchmarks: dict[str, Benchmark], log: Callable[[str], None] = print
) -> tuple[list[str], dict[str, str], pl.DataFrame, pl.DataFrame]:
    """(the benchmarks the model can score, {benchmark skipped: why}, their responses, their examples):
    those whose normalized data passed its quality gate and whose kind the model scores; a ValueError
    naming each dataset asset when none is left."""
    skipped = {
        name: why
        for name, bench in benchmarks.items()
        if (why := kind_mismatch(entry.type, bench.kind) or quality_failure(name))
    }
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
    return chosen, skipped, responses, examples


def dataset_asset_name(benchmark: str) -> str:
    """The benchmark's dataset asset as the UI names it (assets.datasets.dataset_key)."""
    return f"normalized/{asset_name(benchmark)}"


def markdown_table(frame: pl.DataFrame, digits: int = 4) -> str:
    """A small frame as a markdown table (floats rounded)."""
    header = "| " + " | ".join(frame.columns) + " |\n|" + "---|" * len(frame.columns) + "\n"
    rows = (
        "| " + " | ".join(table_cell(v, digits, markdown=True) for v in row) + " |"
        for row in frame.iter_rows()
    )
    return header + "\n".join(rows)
