"""What the scores asset reports of a model's run, read from the warehouse's views: its coverage and
the model's numbers (queries in sql/queries/run/)."""

from __future__ import annotations

import duckdb
import polars as pl

from rb_pipeline.core.kinds import model_kind
from rb_pipeline.warehouse.sql_rules import query_sql

PRM_QUERIES = ("run/prm_leaderboard_row", "run/prm_subsets")  # a process reward model's row and subsets


def report_queries(model_type: str) -> list[str]:
    """The queries `model_report` and `coverage` run for a model of this kind (for `views.in_memory`'s
    `reading`: only the views they need are made)."""
    kind = model_kind(model_type)
    names = ["run/leaderboard_row", "run/subset_accuracy", _coverage_query(model_type)[1]]
    return [query_sql(name) for name in names + (list(PRM_QUERIES) if kind.scores_steps else [])]


def _coverage_query(model_type: str) -> tuple[str, str]:
    """(unit, query name) of a run's coverage: responses for pointwise models, examples for judges."""
    if model_kind(model_type).judges:
        return "examples", "run/coverage_judge"
    return "responses", "run/coverage_pointwise"


def coverage(
    con: duckdb.DuckDBPyConnection, model_id: str, model_type: str, run_id: str
) -> tuple[int, int, int, str]:
    """(to score, scored, NaN scores, unit) of one run, for the scores asset's checks: responses for
    pointwise models, examples for judges (core.kinds); `con` holds the views (`views.in_memory`)."""
    unit, name = _coverage_query(model_type)
    params = {"model": model_id, "run": run_id} if unit == "examples" else {"model": model_id}
    total, covered, nan = con.execute(query_sql(name), params).fetchall()[0]
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
