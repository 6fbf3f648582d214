"""Statistics over the warehouse: bootstrap confidence intervals, and null baselines scored as models.

Bootstrap (stratified, percentile, seeded): each resample draws every subset's examples with replacement,
within the subset (the strata), for the latest run of each (model, benchmark) as `subset_accuracy` reads
it. A subset scored by mean credit resamples its examples' credits, so fractional credit (a judge's tie
0.5, RewardBench 2's 1/k) is resampled as it is; as the mean only depends on how often each distinct
credit is drawn, the draw is one multinomial over the distinct credits (exactly the resampled examples'
mean). RewardBench 2's Ties resamples its prompts (a prompt's ref and tied rows together) and recomputes
the Ties score by the rb2-ties rule. Imported per-subset metrics carry no examples: their n examples are
rebuilt as round(accuracy x n) right and the rest wrong; a metrics file's numbers (no count: published
metrics) get no interval, nor does a section or overall using one, and `no_interval` says why. Section
and overall resamples then run the very rules of the views (`sql/macros/rules.sql`: section_scores,
overall_scores, rb2_ties_score) over the resampled subset scores, so an interval is empty exactly where
its score is. Each (model, benchmark, subset) draws from its own seeded stream. The intervals are written
into the warehouse being built (table `bootstrap_ci`, read by the `*_ci` views), so they are never
half-written.

Null baselines ("longer response wins", "shorter wins", "random", "first position wins") are written
as real computed runs through the lake (`model_type = 'baseline'`), so they appear in every view.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime

import duckdb
import numpy as np
import polars as pl

from rb_pipeline.core.ids import content_hash
from rb_pipeline.core.lake import read_dataset, scores_dir, write_parquet
from rb_pipeline.core.paths import lake_dir
from rb_pipeline.core.runs import new_run_id, run_record, write_run
from rb_pipeline.core.schemas import SCORES_SCHEMA
from rb_pipeline.core.storage import scan_parquet
from rb_pipeline.sources.datasets import run_sources
from rb_pipeline.warehouse.sql_rules import query_sql, render_macro

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
    "no_interval": pl.String,  # why ci_low / ci_high are NULL beside an estimate (PUBLISHED_NO_INTERVAL)
}
# An imported metrics file's numbers come without counts: nothing to resample, so no interval for them
# nor for a section or overall that uses one (stats/intervals.sql).
PUBLISHED_NO_INTERVAL = "published metrics: counts unknown, nothing to resample"
RESAMPLED_SUBSETS = "bootstrap_subsets"  # (model, resample, benchmark, subset, n, score), while computing
RESAMPLED_SECTIONS = "bootstrap_sections"
RESAMPLED_TIES = "bootstrap_ties_rows"
# (model, sha256) of what each model's intervals and rank groups are computed from (store_outcome_digests)
OUTCOME_DIGESTS = "outcome_digests"


# ---------------------------------------------------------------- bootstrap confidence intervals


def stream_seed(seed: int, *key: str) -> np.random.SeedSequence:
    """A seed sequence for one stream: the same (seed, key) always draws the same numbers, whatever
    else the warehouse holds (adding a model never moves another model's interval)."""
    digest = hashlib.blake2b("\x1f".join(key).encode("utf-8"), digest_size=16).digest()
    return np.random.SeedSequence([seed, *np.frombuffer(digest, dtype=np.uint32).tolist()])


def resampled_means(credits: np.ndarray, n_resamples: int, rng: np.random.Generator) -> np.ndarray:
    """The means of `n_resamples` resamples (with replacement, of the same size) of `credits`: one
    multinomial draw over the distinct credits per resample, the same distribution as drawing examples."""
    values, counts = np.unique(credits, return_counts=True)
    draws = rng.multinomial(len(credits), counts / len(credits), size=n_resamples)
    return draws @ values / len(credits)


def resampled_clusters(rows: pl.DataFrame, n_resamples: int, rng: np.random.Generator) -> pl.DataFrame:
    """Resamples of `rows` by `prompt_id` (a cluster is drawn whole, with replacement, as many times as
    there are clusters); each drawn copy gets its own prompt_id, so copies never pair with each other."""
    clusters = rows["prompt_id"].unique(maintain_order=True)
    drawn = rng.integers(0, len(clusters), size=(n_resamples, len(clusters)))
    picks = pl.DataFrame(
        {
            "resample": np.repeat(np.arange(n_resamples), len(clusters)),
            "copy": np.tile(np.arange(len(clusters)), n_resamples),
            "prompt_id": clusters.gather(drawn.ravel()),
        }
    )
    return (
        picks.join(rows, on="prompt_id")
        .with_columns(prompt_id=pl.col("prompt_id") + "#" + pl.col("copy").cast(pl.String))
        .drop("copy")
    )


def resampled_ties_scores(con: duckdb.DuckDBPyConnection, rows: pl.DataFrame) -> pl.DataFrame:
    """Each (model, resample)'s Ties score, by the rb2_ties_score rule, from resampled Ties rows
    (`resampled_clusters`); shared by the bootstrap and the rank groups."""
    drawn = rows.to_arrow()  # noqa: F841 (read by DuckDB by name)
    con.execute(f"create or replace temp table {RESAMPLED_TIES} as select * from drawn")
    scores = con.sql(render_macro(f"rb2_ties_score('{RESAMPLED_TIES}', ['model', 'resample'])")).pl()
    con.execute(f"drop table {RESAMPLED_TIES}")
    return scores


def _latest_credits(con: duckdb.DuckDBPyConnection) -> dict[tuple[str, str, str], np.ndarray]:
    """Per (model, benchmark, subset): the credits of the examples behind subset_accuracy (latest run)."""
    frame = con.sql(query_sql("stats/latest_credits")).pl()
    return {
        key: group["credit"].to_numpy()
        for key, group in frame.partition_by(["model", "benchmark", "subset"], as_dict=True).items()
    }


def _latest_ties_rows(con: duckdb.DuckDBPyConnection) -> pl.DataFrame:
    return con.sql(query_sql("stats/latest_ties_rows")).pl()


def subset_resamples(
    con: duckdb.DuckDBPyConnection, n_resamples: int, seed: int
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """(subsets, resamples): subset_accuracy's rows with rule, and their resampled scores in long
    form (model, resample, benchmark, subset, n, score)."""
    subsets = con.sql(query_sql("stats/scored_subsets")).pl()
    credits = _latest_credits(con)
    ties_rows = _latest_ties_rows(con) if (subsets["rule"] == "rb2-ties").any() else None
    frames, ties_resamples = [], []
    for model, benchmark, subset, n, accuracy, rule in subsets.select(
        "model", "benchmark", "subset", "n", "accuracy", "rule"
    ).iter_rows():
        rng = np.random.Generator(np.random.PCG64(stream_seed(seed, model, benchmark, subset)))
        key = (model, benchmark, subset)
        if rule == "rb2-ties" and ties_rows is not None:
            rows = ties_rows.filter(
                (pl.col("model") == model) & (pl.col("benchmark") == benchmark) & (pl.col("subset") == subset)
            )
            if rows.height:
                ties_resamples.append(resampled_clusters(rows, n_resamples, rng))
                continue
        if key in credits:
            values = credits[key]
        elif n and accuracy is not None:  # imported per-subset metrics: n examples, round(accuracy x n) right
            right = round(accuracy * n)
            values = np.concatenate([np.ones(right), np.zeros(n - right)])
        else:
            continue  # no count and no examples (published metrics): no interval; no_interval says why
        frames.append(
            pl.DataFrame(
                {"resample": np.arange(n_resamples), "score": resampled_means(values, n_resamples, rng)}
            ).with_columns(model=pl.lit(model), benchmark=pl.lit(benchmark), subset=pl.lit(subset))
        )
    if ties_resamples:
        scores = resampled_ties_scores(con, pl.concat(ties_resamples))
        frames.append(scores.select("model", "benchmark", "subset", "resample", "score"))
    schema = {"model": pl.String, "benchmark": pl.String, "subset": pl.String, "resample": pl.Int64}
    resamples = pl.concat(
        [frame.cast({**schema, "score": pl.Float64}).select(*schema, "score") for frame in frames]
        or [pl.DataFrame(schema={**schema, "score": pl.Float64})]
    ).join(subsets.select("model", "benchmark", "subset", "n"), on=["model", "benchmark", "subset"])
    return subsets, resamples


def bootstrap_intervals(
    con: duckdb.DuckDBPyConnection, n_resamples: int = N_RESAMPLES, seed: int = BOOTSTRAP_SEED
) -> pl.DataFrame:
    """Bootstrap 95% intervals for subset scores, section scores and overall scores (the latest
    runs, as in `subset_accuracy`, `section_scores`, `overall_scores`), in BOOTSTRAP_SCHEMA: one row
    per row of those views; `no_interval` says why an estimate has none."""
    _, resamples = subset_resamples(con, n_resamples, seed)
    resampled = resamples.to_arrow()  # noqa: F841 (read by DuckDB by name)
    con.execute(f"create or replace temp table {RESAMPLED_SUBSETS} as select * from resampled")
    con.execute(
        f"create or replace temp table {RESAMPLED_SECTIONS} as "
        + render_macro(f"section_scores('{RESAMPLED_SUBSETS}', ['model', 'resample'])")
    )
    low, high = CI_QUANTILES
    intervals = con.sql(
        query_sql(
            "stats/intervals",
            low=low,
            high=high,
            published_reason=PUBLISHED_NO_INTERVAL,
            resampled_subsets=RESAMPLED_SUBSETS,
            resampled_sections=RESAMPLED_SECTIONS,
            resampled_overalls=render_macro(f"overall_scores('{RESAMPLED_SECTIONS}', ['model', 'resample'])"),
        )
    ).pl()
    for table in (RESAMPLED_SUBSETS, RESAMPLED_SECTIONS):
        con.execute(f"drop table if exists {table}")
    return intervals.with_columns(n_resamples=pl.lit(n_resamples), seed=pl.lit(seed)).select(
        [pl.col(name).cast(dtype) for name, dtype in BOOTSTRAP_SCHEMA.items()]
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


def store_outcome_digests(con: duckdb.DuckDBPyConnection) -> None:
    """Store each model's outcome digest (sql/queries/stats/outcome_digests.sql) in OUTCOME_DIGESTS:
    equal digests give equal intervals, rank groups and suspect labels."""
    con.execute(f"create or replace table {OUTCOME_DIGESTS} as {query_sql('stats/outcome_digests')}")


def outcomes_changed(con: duckdb.DuckDBPyConnection, models: list[str], prefix: str) -> bool:
    """Whether any of `models` has an outcome digest in this connection's OUTCOME_DIGESTS other than
    (or none where) `prefix`'s table has one (an attached warehouse file's, `target.main.`)."""
    sql = query_sql("stats/changed_digests", digests=OUTCOME_DIGESTS, stored=f"{prefix}{OUTCOME_DIGESTS}")
    return bool(con.execute(sql, {"models": models}).fetchall())


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
        record = run_record(
            run_id,
            baseline.model,
            settings,
            settings_key,
            names,
            status="complete",
            started_at=started,
            model_type="baseline",
            device="cpu",
            n_responses=responses.height,
            n_scored=responses.height,
            n_reused=0,
            n_truncated=0,
            **run_sources(names),
        )
        write_run(record)  # last: until this row exists, no view reads the scores written above
        log(f"{baseline.model}: {responses.height} responses scored, run {run_id}")
        runs[baseline.model] = run_id
    return runs
