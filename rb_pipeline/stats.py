"""Statistics over the warehouse: bootstrap confidence intervals, and null baselines scored as models.

Bootstrap (percentile, stratified by subset): resampling a subset's n examples with replacement when k
are correct gives a correct count distributed exactly Binomial(n, k / n), so each (model, benchmark,
subset) draws `n_resamples` binomials from its own fixed-seed stream instead of touching examples.
Section and overall resamples combine the subset resamples with the catalog weights, by the same rules
as `sql/section_scores.sql` and `sql/overall_scores.sql`. The intervals are written into the warehouse
being built (table `bootstrap_ci`, read by the `*_ci` views), so they are never half-written.

Null baselines ("longer response wins", "shorter wins", "random", "first position wins") are written
as real computed runs through the lake (`model_type = 'baseline'`), so they appear in every view.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime

import duckdb
import numpy as np
import polars as pl

from rb_pipeline.datasets import run_sources
from rb_pipeline.lake import read_dataset, scores_dir, write_parquet
from rb_pipeline.normalize import content_hash
from rb_pipeline.paths import lake_dir
from rb_pipeline.scoring import RUNS_SCHEMA, SCORES_SCHEMA, git_hash, new_run_id, package_versions, write_run
from rb_pipeline.storage import scan_parquet

BOOTSTRAP_SEED = 20260101
N_RESAMPLES = 2000
CI_QUANTILES = (0.025, 0.975)  # a 95% percentile interval
BOOTSTRAP_TABLE = "bootstrap_ci"
BOOTSTRAP_SCHEMA = {
    "level": pl.String,  # subset | section | overall
    "model": pl.String,
    "benchmark": pl.String,  # null for an overall (it may span benchmarks)
    "subset": pl.String,  # level subset only
    "section": pl.String,  # level section only
    "overall": pl.String,  # level overall only
    "column_name": pl.String,  # level overall: its leaderboard column
    "n": pl.Int64,  # examples behind the estimate
    "estimate": pl.Float64,
    "ci_low": pl.Float64,
    "ci_high": pl.Float64,
    "n_resamples": pl.Int64,
    "seed": pl.Int64,
}


# ---------------------------------------------------------------- bootstrap confidence intervals


def stream_seed(seed: int, *key: str) -> np.random.SeedSequence:
    """A seed sequence for one stream: the same (seed, key) always draws the same numbers, whatever
    else the warehouse holds (adding a model never moves another model's interval)."""
    digest = hashlib.blake2b("\x1f".join(key).encode("utf-8"), digest_size=16).digest()
    return np.random.SeedSequence([seed, *np.frombuffer(digest, dtype=np.uint32).tolist()])


def subset_resamples(subsets: pl.DataFrame, n_resamples: int, seed: int) -> np.ndarray:
    """Resampled accuracies (rows x n_resamples) for rows with model, benchmark, subset, n, accuracy."""
    out = np.empty((subsets.height, n_resamples))
    for row, (model, benchmark, subset, n, accuracy) in enumerate(
        subsets.select("model", "benchmark", "subset", "n", "accuracy").iter_rows()
    ):
        rng = np.random.Generator(np.random.PCG64(stream_seed(seed, model, benchmark, subset)))
        out[row] = rng.binomial(n, min(max(accuracy, 0.0), 1.0), n_resamples) / n
    return out


def _group_starts(keys: pl.DataFrame) -> np.ndarray:
    """Row positions where a run of equal keys starts (keys sorted)."""
    changed = keys.select(
        pl.any_horizontal([pl.col(c).ne_missing(pl.col(c).shift(1)) for c in keys.columns])
    ).to_series()
    flags = changed.to_numpy().copy()
    flags[0] = True
    return np.flatnonzero(flags)


def weighted_means(
    frame: pl.DataFrame, keys: list[str], weight: str, estimates: np.ndarray, resamples: np.ndarray
) -> tuple[pl.DataFrame, np.ndarray, np.ndarray]:
    """Per group of `keys`: sum(value x weight) / sum(weight) of the point estimates and of every
    resample. Returns the groups (keys, summed `n`, count of rows and of `required` rows when present),
    their estimates and their resamples."""
    if frame.height == 0:
        groups = frame.select(keys).with_columns(n=pl.lit(0), n_rows=pl.lit(0), n_required=pl.lit(0))
        return groups.cast({"n": pl.Int64}), np.empty(0), np.empty((0, resamples.shape[1]))
    order = frame.with_row_index("_row").sort(keys, maintain_order=True)
    rows = order["_row"].to_numpy()
    starts = _group_starts(order.select(keys))
    weights = order[weight].to_numpy().astype(float)
    weight_sums = np.add.reduceat(weights, starts)
    group_estimates = np.add.reduceat(estimates[rows] * weights, starts) / weight_sums
    group_resamples = np.add.reduceat(resamples[rows] * weights[:, None], starts, axis=0)
    group_resamples /= weight_sums[:, None]
    aggregations = [pl.col("n").sum(), pl.len().alias("n_rows")]
    if "required" in frame.columns:
        aggregations.append(pl.col("required").sum().alias("n_required"))
    groups = order.group_by(keys, maintain_order=True).agg(aggregations)
    return groups, group_estimates, group_resamples


def _intervals(resamples: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    if resamples.shape[0] == 0:
        return np.empty(0), np.empty(0)
    low, high = np.quantile(resamples, CI_QUANTILES, axis=1)
    return low, high


def bootstrap_intervals(
    con: duckdb.DuckDBPyConnection, n_resamples: int = N_RESAMPLES, seed: int = BOOTSTRAP_SEED
) -> pl.DataFrame:
    """Bootstrap 95% intervals for subset accuracies, section scores and overall scores (the latest
    runs, as in `subset_accuracy`, `section_scores`, `overall_scores`), in BOOTSTRAP_SCHEMA."""
    subsets = con.sql(
        """select accuracy.model, accuracy.benchmark, accuracy.subset, accuracy.n, accuracy.accuracy,
                  weights.section, weights.weight
           from subset_accuracy as accuracy
           left join subset_weights as weights
               on weights.benchmark = accuracy.benchmark and weights.subset = accuracy.subset
           where accuracy.n > 0 and accuracy.accuracy is not null
           order by accuracy.model, accuracy.benchmark, accuracy.subset"""
    ).pl()
    sections = con.sql(
        "select benchmark, section, overall, overall_column, overall_weight, required from sections"
    ).pl()
    resampled = subset_resamples(subsets, n_resamples, seed)
    low, high = _intervals(resampled)
    frames = [
        subsets.select("model", "benchmark", "subset", "n", estimate="accuracy").with_columns(
            level=pl.lit("subset"), ci_low=pl.Series(low), ci_high=pl.Series(high)
        )
    ]

    # sections: section_scores' rule over subsets in a section with a positive weight
    in_section = (subsets["section"].is_not_null() & (subsets["weight"] > 0)).fill_null(False).to_numpy()
    section_groups, section_estimates, section_resamples = weighted_means(
        subsets.filter(pl.Series(in_section)),
        ["model", "benchmark", "section"],
        "weight",
        subsets["accuracy"].to_numpy()[in_section],
        resampled[in_section],
    )
    low, high = _intervals(section_resamples)
    frames.append(
        section_groups.select("model", "benchmark", "section", "n").with_columns(
            level=pl.lit("section"),
            estimate=pl.Series(section_estimates, dtype=pl.Float64),
            ci_low=pl.Series(low, dtype=pl.Float64),
            ci_high=pl.Series(high, dtype=pl.Float64),
        )
    )

    # overalls: overall_scores' rule, NULL unless every required section was scored
    in_overall = section_groups.with_row_index("_section").join(
        sections.filter(pl.col("overall").is_not_null()), on=["benchmark", "section"], how="inner"
    )
    positions = in_overall["_section"].to_numpy()
    overall_groups, overall_estimates, overall_resamples = weighted_means(
        in_overall,
        ["overall", "model"],
        "overall_weight",
        section_estimates[positions],
        section_resamples[positions],
    )
    needed = (
        sections.filter(pl.col("overall").is_not_null())
        .group_by("overall")
        .agg(needed=pl.col("required").sum())
    )
    complete = (
        overall_groups.join(needed, on="overall", how="left")
        .select(pl.col("n_required") == pl.col("needed"))
        .to_series()
        .to_numpy()
    )
    low, high = _intervals(overall_resamples)
    columns = (
        sections.filter(pl.col("overall").is_not_null())
        .group_by("overall")
        .agg(column_name=pl.col("overall_column").first())
    )
    frames.append(
        overall_groups.select("overall", "model", "n")
        .with_columns(
            level=pl.lit("overall"),
            estimate=pl.Series(np.where(complete, overall_estimates, np.nan), dtype=pl.Float64),
            ci_low=pl.Series(np.where(complete, low, np.nan), dtype=pl.Float64),
            ci_high=pl.Series(np.where(complete, high, np.nan), dtype=pl.Float64),
        )
        .with_columns(pl.col("estimate", "ci_low", "ci_high").fill_nan(None))
        .join(columns, on="overall", how="left")
    )
    return (
        pl.concat(frames, how="diagonal_relaxed")
        .with_columns(n_resamples=pl.lit(n_resamples), seed=pl.lit(seed))
        .select([pl.col(name).cast(dtype) for name, dtype in BOOTSTRAP_SCHEMA.items()])
    )


def create_bootstrap_table(con: duckdb.DuckDBPyConnection) -> None:
    """The empty, typed `bootstrap_ci` table the `*_ci` views read (filled by add_confidence_intervals)."""
    empty = pl.DataFrame(schema=BOOTSTRAP_SCHEMA).to_arrow()  # noqa: F841 (read by DuckDB by name)
    con.execute(f"create or replace table {BOOTSTRAP_TABLE} as select * from empty")


def add_confidence_intervals(
    con: duckdb.DuckDBPyConnection, n_resamples: int = N_RESAMPLES, seed: int = BOOTSTRAP_SEED
) -> int:
    """Compute the bootstrap intervals from the warehouse's views and store them in `bootstrap_ci`
    (replacing what it held); returns the number of rows."""
    intervals = bootstrap_intervals(con, n_resamples, seed).to_arrow()  # noqa: F841 (read by name)
    con.execute(f"delete from {BOOTSTRAP_TABLE}")
    con.execute(f"insert into {BOOTSTRAP_TABLE} by name select * from intervals")
    return intervals.num_rows


# ---------------------------------------------------------------- null baselines


BASELINE_SEED = 20260101


@dataclass(frozen=True)
class NullBaseline:
    """A scoring rule that looks at no content: what accuracy a trivial rule gets on a subset."""

    model: str
    description: str
    reads: str  # what it looks at: text, response_id or position (position: left out of above_null_baseline)
    score: Callable[[pl.DataFrame, int], pl.Series]  # (responses, seed) -> one score per row


def _uniform(seed: int, response_id: str) -> float:
    digest = hashlib.blake2b(f"{seed}\x1f{response_id}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big") / 2**64


NULL_BASELINES = (
    NullBaseline(
        "baseline/longer",
        "longer response wins: score = character length",
        "text",
        lambda responses, seed: responses["text"].str.len_chars().cast(pl.Float64),
    ),
    NullBaseline(
        "baseline/shorter",
        "shorter response wins: score = -character length",
        "text",
        lambda responses, seed: -responses["text"].str.len_chars().cast(pl.Float64),
    ),
    NullBaseline(
        "baseline/random",
        "random: score = uniform [0, 1) from a fixed-seed hash of response_id",
        "response_id",
        lambda responses, seed: pl.Series([_uniform(seed, rid) for rid in responses["response_id"]]),
    ),
    NullBaseline(
        "baseline/first-position",
        "first position wins: score = -position in the source's order (a judge's position bias)",
        "position",
        lambda responses, seed: -responses["position"].cast(pl.Float64),
    ),
)


def _complete_runs(model: str, settings_key: str) -> list[str]:
    files = sorted(lake_dir("runs").glob("*.parquet"))
    if not files:
        return []
    runs = scan_parquet(files).filter(
        (pl.col("model") == model)
        & (pl.col("settings_key") == settings_key)
        & (pl.col("status") == "complete")
    )
    return runs.select("run_id").collect()["run_id"].to_list()


def score_null_baselines(
    benchmarks: Iterable[str], seed: int = BASELINE_SEED, log: Callable[[str], None] = print
) -> dict[str, str]:
    """Score every null baseline on the benchmarks' normalized responses, one complete computed run per
    baseline (`model_type = 'baseline'`); returns {baseline model: run_id}. A baseline whose complete
    run already covers the same responses with the same rule and seed is not written again."""
    names = sorted(dict.fromkeys(benchmarks))
    responses = (
        pl.concat([read_dataset("responses", name) for name in names])
        .unique("response_id", keep="first", maintain_order=True)
        .select("response_id", "position", "text")
    )
    digest = hashlib.sha256()
    for response_id, position in responses.select("response_id", "position").sort("response_id").iter_rows():
        digest.update(f"{response_id}:{position};".encode())
    runs: dict[str, str] = {}
    for baseline in NULL_BASELINES:
        settings = {
            "rule": baseline.description,
            "reads": baseline.reads,
            "seed": seed,
            "responses_sha256": digest.hexdigest(),
        }
        settings_key = content_hash(baseline.model, names, settings)
        previous = _complete_runs(baseline.model, settings_key)
        if previous:
            log(f"{baseline.model}: skipped, run {previous[0]} already scored these responses")
            runs[baseline.model] = previous[0]
            continue
        run_id = new_run_id()
        started = datetime.now(UTC)
        scores = responses.select(
            model=pl.lit(baseline.model),
            run_id=pl.lit(run_id),
            settings_key=pl.lit(settings_key),
            response_id="response_id",
            score=baseline.score(responses, seed),
            score_vector=pl.lit(None),
            n_tokens=pl.lit(None),
            truncated_tokens=pl.lit(0),
            reused=pl.lit(False),
        ).cast(SCORES_SCHEMA)
        write_parquet(scores, scores_dir(baseline.model, run_id) / "part-00000.parquet")
        record = {
            "run_id": run_id,
            "model": baseline.model,
            "model_revision": None,
            "model_type": "baseline",
            "settings": json.dumps(settings, sort_keys=True),
            "settings_key": settings_key,
            "benchmarks": names,
            "device": "cpu",
            "started_at": started,
            "ended_at": datetime.now(UTC),
            "status": "complete",
            "provenance": "computed",
            "n_responses": responses.height,
            "n_scored": responses.height,
            "n_reused": 0,
            "n_truncated": 0,
            "responses_per_s": None,
            "tokens_per_s": None,
            "padding_overhead": None,
            "package_versions": json.dumps(package_versions(), sort_keys=True),
            "git_hash": git_hash(),
            **run_sources(names),
        }
        assert set(record) == set(RUNS_SCHEMA)
        write_run(record)  # last: until this row exists, no view reads the scores written above
        log(f"{baseline.model}: {responses.height} responses scored, run {run_id}")
        runs[baseline.model] = run_id
    return runs
