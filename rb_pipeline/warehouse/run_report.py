"""What the scores asset reports of a model's run, read from the warehouse's views: its coverage and
the model's numbers (queries in sql/queries/run/)."""

from __future__ import annotations

import duckdb
import polars as pl

from rb_pipeline.core.kinds import model_kind
from rb_pipeline.warehouse.sql_rules import query_sql


def coverage(
    con: duckdb.DuckDBPyConnection, model_id: str, model_type: str, run_id: str
) -> tuple[int, int, int, str]:
    """(to score, scored, NaN scores, unit) of one run, for the scores asset's checks: responses for
    pointwise models, examples for judges (core.kinds); `con` holds the views (`views.in_memory`)."""
    unit, name = ("examples", "judge") if model_kind(model_type).judges else ("responses", "pointwise")
    params = {"model": model_id, "run": run_id} if unit == "examples" else {"model": model_id}
    total, covered, nan = con.execute(query_sql(f"run/coverage_{name}"), params).fetchall()[0]
    return total, covered, nan, unit


def model_report(con: duckdb.DuckDBPyConnection, model_id: str, model_type: str) -> tuple[dict, pl.DataFrame]:
    """The model's leaderboard row and its per-subset accuracies (a process reward model: its row of
    the PRM leaderboard and its per-category and per-subset scores); `con` holds the views."""
    params = {"model": model_id}
    if model_kind(
        model_type
    ).scores_steps:  # the PRM leaderboard costs half a second to bind: asked only here
        prm = con.sql(query_sql("run/prm_leaderboard_row"), params=params).pl()
        if prm.height:
            return prm.row(0, named=True), con.sql(query_sql("run/prm_subsets"), params=params).pl()
    row = con.sql(query_sql("run/leaderboard_row"), params=params).pl()
    subsets = con.sql(query_sql("run/subset_accuracy"), params=params).pl()
    return (row.row(0, named=True) if row.height else {}), subsets
