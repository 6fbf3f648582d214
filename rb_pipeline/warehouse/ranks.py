"""Rank groups for the leaderboard: which models cannot be told apart on each overall column.

Rule (paired, stratified percentile bootstrap; Holm): each resample draws, within every subset, the
subset's examples with replacement, the same draw for every model (paired: two models are compared on
the same resampled examples); a model's resampled subset accuracy is the mean credit over the drawn
examples it scored (its resampled score); RewardBench 2's Ties (rule rb2-ties) draws its prompts (a
prompt's ref and tied rows together), one draw for every model, and recomputes each model's Ties score
(the rb2_ties_score rule), as subset_accuracy's score does. The section and overall rules of the views (`sql/macros/rules.sql`) turn them into
resampled overall scores. For each pair of models with an overall score, p = min(1, 2 x min(share of
resamples where A - B <= 0, share where A - B >= 0)); Holm's correction (`sql/macros/stats.sql`, the
one the comparison views use) runs over every pair of the column. A model's rank = 1 + the models
better than it at corrected p < 0.05; models sharing a rank are `tied` (the leaderboard says so).
Models with per-example outcomes only (latest computed runs); imported per-subset metrics get no rank.
Stored in `rank_groups` (one row per model and overall column) when the warehouse is built or updated.
"""

from __future__ import annotations

import duckdb
import numpy as np
import polars as pl

from rb_pipeline.warehouse.sql_rules import query_sql
from rb_pipeline.warehouse.stats import BOOTSTRAP_SEED, resampled_clusters, resampled_ties_scores, stream_seed

RANK_TABLE = "rank_groups"
RANK_RESAMPLES = 1000
ALPHA = 0.05
RANK_SCHEMA = {
    "model": pl.String,
    "column_name": pl.String,  # the overall's leaderboard column
    "rank": pl.Int64,
    "tied": pl.Boolean,  # another model has the same rank
    "n_indistinguishable": pl.Int64,  # other models it cannot be told apart from
}
RESAMPLED = "rank_resampled_subsets"
RESAMPLED_SCHEMA = {
    "model": pl.String,
    "resample": pl.Int64,
    "benchmark": pl.String,
    "subset": pl.String,
    "n": pl.Int64,
    "score": pl.Float64,
}
# Rank groups compare every model with every other (about 200 s at 500 models): an incremental update
# recomputes them up to this many ranked models; past it they are left empty until a full build
# (`rb-pipeline warehouse --rebuild`), which the leaderboard's rank_groups column then says.
UPDATE_MAX_MODELS = 100


def create_rank_table(con: duckdb.DuckDBPyConnection) -> None:
    """The empty, typed `rank_groups` table the leaderboard reads (filled by add_rank_groups)."""
    empty = pl.DataFrame(schema=RANK_SCHEMA).to_arrow()  # noqa: F841 (read by DuckDB by name)
    con.execute(f"create or replace table {RANK_TABLE} as select * from empty")


def paired_resamples(credits: pl.DataFrame, n_resamples: int, seed: int) -> pl.DataFrame:
    """(model, resample, benchmark, subset, n, score) from (model, benchmark, subset, example_id,
    credit): every subset's examples drawn with replacement, one draw shared by all models."""
    models = credits["model"].unique().sort()
    coded = credits.with_columns(
        model_index=pl.col("model").cast(pl.Enum(models)).to_physical(),
        example_index=pl.col("example_id").rank("dense").over("benchmark", "subset") - 1,
    )
    frames = []
    for (benchmark, subset), group in coded.partition_by(["benchmark", "subset"], as_dict=True).items():
        n_examples = int(group["example_index"].max()) + 1
        values = np.full((len(models), n_examples), np.nan)  # models x examples, NaN = not scored
        values[group["model_index"].to_numpy(), group["example_index"].to_numpy()] = group[
            "credit"
        ].to_numpy()
        scored = ~np.isnan(values)
        rng = np.random.Generator(np.random.PCG64(stream_seed(seed, "ranks", benchmark, subset)))
        draws = rng.multinomial(n_examples, np.full(n_examples, 1 / n_examples), size=n_resamples).astype(
            float
        )
        with np.errstate(invalid="ignore", divide="ignore"):
            accuracy = (draws @ np.nan_to_num(values).T) / (draws @ scored.T)  # resamples x models
        present = scored.any(axis=1)  # the models that scored this subset
        frames.append(
            pl.DataFrame(
                {
                    "model_index": np.tile(np.flatnonzero(present), n_resamples).astype(np.uint32),
                    "resample": np.repeat(np.arange(n_resamples), present.sum()),
                    "score": accuracy[:, present].ravel(),
                    "n": np.tile(scored.sum(axis=1)[present], n_resamples),
                }
            ).with_columns(benchmark=pl.lit(benchmark), subset=pl.lit(subset))
        )
    if not frames:
        return pl.DataFrame()
    names = pl.DataFrame({"model_index": np.arange(len(models), dtype=np.uint32), "model": models})
    return pl.concat(frames).join(names, on="model_index").drop("model_index")


def paired_ties_resamples(
    con: duckdb.DuckDBPyConnection, rows: pl.DataFrame, n_resamples: int, seed: int
) -> pl.DataFrame:
    """(model, resample, benchmark, subset, n, score) of the rb2-ties subsets from their rows
    (stats/latest_ties_rows): every subset's prompts drawn with replacement, one draw shared by all
    models, each model's Ties score recomputed by the rb2_ties_score rule; n = the model's examples."""
    frames = []
    for (benchmark, subset), group in rows.partition_by(["benchmark", "subset"], as_dict=True).items():
        rng = np.random.Generator(np.random.PCG64(stream_seed(seed, "ranks", benchmark, subset)))
        frames.append(resampled_clusters(group, n_resamples, rng))
    if not frames:
        return pl.DataFrame(schema=RESAMPLED_SCHEMA)
    scores = resampled_ties_scores(con, pl.concat(frames))
    counts = rows.group_by("model", "benchmark", "subset").agg(n=pl.len())
    joined = scores.drop("n").join(counts, on=["model", "benchmark", "subset"])
    return joined.select([pl.col(name).cast(dtype) for name, dtype in RESAMPLED_SCHEMA.items()])


def pair_p_values(scores: np.ndarray) -> np.ndarray:
    """models x models two-sided bootstrap p-values of the difference, from resamples x models scores."""
    n_models = scores.shape[1]
    p = np.ones((n_models, n_models))
    for i in range(n_models):
        difference = scores[:, [i]] - scores
        p[i] = np.minimum(1.0, 2 * np.minimum((difference <= 0).mean(axis=0), (difference >= 0).mean(axis=0)))
    return p


def rank_groups(
    con: duckdb.DuckDBPyConnection,
    prefix: str = "",
    n_resamples: int = RANK_RESAMPLES,
    seed: int = BOOTSTRAP_SEED,
) -> pl.DataFrame:
    """The rank groups (RANK_SCHEMA) of the models' latest runs, read from `prefix`example_outcomes_history
    and `prefix`runs_history (an attached warehouse file's, during an update)."""
    credits = con.sql(query_sql("ranks/latest_credits", prefix=prefix)).pl()  # rb2-ties left out
    ties = con.sql(query_sql("stats/latest_ties_rows", prefix=prefix)).pl()  # rb2-ties: by its own rule
    if credits.is_empty() and ties.is_empty():
        return pl.DataFrame(schema=RANK_SCHEMA)
    frames = [paired_ties_resamples(con, ties, n_resamples, seed)]
    if not credits.is_empty():
        frames.append(paired_resamples(credits, n_resamples, seed))
    schema = [pl.col(name).cast(dtype) for name, dtype in RESAMPLED_SCHEMA.items()]
    resampled = pl.concat([frame.select(schema) for frame in frames if frame.height]).to_arrow()  # noqa: F841
    con.execute(f"create or replace temp table {RESAMPLED} as select * from resampled")
    scores = con.sql(query_sql("ranks/resampled_overalls", resampled=RESAMPLED, leaderboard_columns=[])).pl()
    con.execute(f"drop table {RESAMPLED}")
    if scores.is_empty():  # no overall score anywhere (partial coverage): nothing to rank
        return pl.DataFrame(schema=RANK_SCHEMA)
    pairs, estimates = [], []
    for (column,), group in scores.partition_by(["column_name"], as_dict=True).items():
        wide = group.pivot(on="model", index="resample", values="score").sort("resample").drop("resample")
        wide = wide.select([name for name in wide.columns if wide[name].null_count() == 0])  # scored always
        models, matrix = wide.columns, wide.to_numpy()
        p = pair_p_values(matrix)
        upper = np.triu_indices(len(models), k=1)
        pairs.append(
            pl.DataFrame(
                {
                    "column_name": column,
                    "model_a": np.array(models)[upper[0]],
                    "model_b": np.array(models)[upper[1]],
                    "p_value": p[upper],
                },
                schema={
                    "column_name": pl.String,
                    "model_a": pl.String,
                    "model_b": pl.String,
                    "p_value": pl.Float64,
                },
            )
        )
        estimates.append(pl.DataFrame({"column_name": column, "model": models, "mean": matrix.mean(axis=0)}))
    tests = pl.concat(pairs)  # noqa: F841 (read by DuckDB by name)
    adjusted = con.sql(query_sql("ranks/holm")).pl()
    return _ranks(adjusted, pl.concat(estimates))


def _ranks(adjusted: pl.DataFrame, estimates: pl.DataFrame) -> pl.DataFrame:
    """Rank = 1 + models better (higher mean resampled score) at corrected p < ALPHA; tied = shared."""
    both_ways = pl.concat(
        [
            adjusted.select("column_name", "p_adjusted", model="model_a", other="model_b"),
            adjusted.select("column_name", "p_adjusted", model="model_b", other="model_a"),
        ]
    )
    other_mean = estimates.rename({"model": "other", "mean": "other_mean"})
    compared = both_ways.join(estimates, on=["column_name", "model"]).join(
        other_mean, on=["column_name", "other"]
    )
    counts = compared.group_by("column_name", "model").agg(
        better=((pl.col("p_adjusted") < ALPHA) & (pl.col("other_mean") > pl.col("mean"))).sum(),
        n_indistinguishable=(pl.col("p_adjusted") >= ALPHA).sum(),
    )
    ranked = (
        estimates.join(counts, on=["column_name", "model"], how="left")
        .with_columns(
            rank=1 + pl.col("better").fill_null(0),
            n_indistinguishable=pl.col("n_indistinguishable").fill_null(0),
        )
        .with_columns(tied=pl.len().over("column_name", "rank") > 1)
    )
    return ranked.select([pl.col(name).cast(dtype) for name, dtype in RANK_SCHEMA.items()])


def add_rank_groups(con: duckdb.DuckDBPyConnection, prefix: str = "", max_models: int | None = None) -> int:
    """Compute the rank groups and store them in `prefix`rank_groups (replacing what it held); past
    `max_models` models with a latest run, store none (-1 returned: left to a full build)."""
    if max_models is not None:
        latest = query_sql("ranks/latest_models", prefix=prefix)
        if (
            len(con.sql(latest).fetchall()) > max_models
        ):  # one row per model with no rank: the leaderboard says to rebuild
            con.execute(f"delete from {prefix}{RANK_TABLE}")
            con.execute(f"insert into {prefix}{RANK_TABLE} (model) {latest}")
            return -1
    ranks = rank_groups(con, prefix).to_arrow()  # noqa: F841 (read by DuckDB by name)
    con.execute(f"delete from {prefix}{RANK_TABLE}")
    con.execute(f"insert into {prefix}{RANK_TABLE} by name select * from ranks")
    return ranks.num_rows
