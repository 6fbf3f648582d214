"""The questions the lake answers, as queries over its views: how two runs differ (reproduction_diff,
flips), which labels look wrong (suspect_labels) and how healthy a judge is (judge_health).

A run is named by its run id, or by a model id (its latest run on each benchmark, runs_history's
is_latest); the comparison views pair any two runs on the examples both decided.
"""

from __future__ import annotations

from pathlib import Path

import duckdb
import polars as pl

from rb_pipeline.warehouse.sql_rules import query_sql

DISAGREEMENTS_SHOWN = 10  # the disagreeing examples `compare` lists, largest margin change first
# what a comparison shows of reproduction_diff per subset (`rb-pipeline compare`, the report's compare.html)
COMPARE_COLUMNS = [
    "benchmark",
    "subset",
    "n_both",
    "agreement",
    "accuracy_a",
    "accuracy_b",
    "difference",
    "difference_low",
    "difference_high",
    "p_value",
    "p_adjusted",
]


def run_ids(con: duckdb.DuckDBPyConnection, name: str) -> list[str]:
    """The run ids `name` stands for: itself when it is a complete run's id, else the model's latest
    run on each benchmark; a ValueError naming it when neither exists."""
    runs = con.sql(query_sql("answers/run_ids"), params={"name": name}).fetchall()
    if not runs:
        raise ValueError(f"{name}: neither a complete run id nor a model with a complete run")
    return [row[0] for row in runs]


def previous_run(con: duckdb.DuckDBPyConnection, model: str, benchmark: str) -> str | None:
    """The model's complete run on `benchmark` just before its latest one, of the same provenance (a
    computed run's previous computed run: an imported file is a reproduction, see `compare`), or None."""
    rows = con.sql(
        query_sql("answers/previous_run"), params={"model": model, "benchmark": benchmark}
    ).fetchall()
    return rows[0][0] if rows else None


def compare(con: duckdb.DuckDBPyConnection, a: str, b: str) -> tuple[pl.DataFrame, pl.DataFrame]:
    """(per subset: agreement, accuracy difference with its paired interval, McNemar p-values; the
    disagreeing examples, largest margin change first) between runs `a` and `b` (ids or models)."""
    # one parameter per run id: constants DuckDB pushes into both sides of the views' self-join
    params = {f"a{i}": run for i, run in enumerate(run_ids(con, a))}
    params |= {f"b{i}": run for i, run in enumerate(run_ids(con, b))}
    names = {side: [name for name in params if name[0] == side] for side in "ab"}
    summary = con.sql(query_sql("answers/compare_summary", **names), params=params).pl()
    flipped = con.sql(query_sql("answers/compare_flips", **names), params=params).pl()
    return summary, flipped


def suspects(
    con: duckdb.DuckDBPyConnection, min_models: int | None = None, benchmark: str | None = None
) -> pl.DataFrame:
    """The suspect labels (sql/suspect_labels.sql), most contradicted first, with the example's prompt
    and its chosen and rejected texts for review; `min_models` replaces the catalog's threshold."""
    custom = min_models is not None
    return con.sql(
        query_sql("answers/suspects", custom_threshold=custom),
        params={"benchmark": benchmark} | ({"min_models": min_models} if custom else {}),
    ).pl()


def export_suspects(frame: pl.DataFrame, path: Path) -> Path:
    """Write `suspects(...)` for review: JSON lines (one example a line, texts whole), or CSV by suffix."""
    path.parent.mkdir(parents=True, exist_ok=True)
    if path.suffix == ".csv":
        frame.with_columns(pl.col("chosen", "rejected").list.join("\n---\n")).write_csv(path)
    else:
        frame.write_ndjson(path)
    return path


def audit_report(con: duckdb.DuckDBPyConnection, runs: dict[str, str]) -> pl.DataFrame:
    """The invariance audit's answer: per audited setting ({label: run id}, the baseline first, as
    `engine.audit.audit_model` returns them), its run against the baseline's (sql/queries/answers/
    audit.sql): examples compared, flips (lost, gained; reproduction_diff's McNemar test), the largest
    accuracy, margin and score changes. Every audited setting has a row (none when only the baseline
    ran: a judge behind a server, an ensemble)."""
    baseline, *audited = runs.values()
    params = {f"run{index}": run for index, run in enumerate(audited)}
    found = con.sql(
        query_sql("answers/audit", runs=list(params)), params=params | {"baseline": baseline}
    ).pl()
    return _labelled(dict(list(runs.items())[1:]), found)


def audit_orders(con: duckdb.DuckDBPyConnection, runs: dict[str, str]) -> pl.DataFrame:
    """The invariance audit's answer-order check, for a judge (no rows for a scorer): per audited
    setting ({label: run id}, the baseline included), benchmark and subset, the examples judged in both
    answer orders, the position flips among them (verdicts that differ between the orders) and their
    ids (sql/queries/answers/audit_orders.sql)."""
    params = {f"run{index}": run for index, run in enumerate(runs.values())}
    found = con.sql(query_sql("answers/audit_orders", runs=list(params)), params=params).pl()
    return _labelled(runs, found.sort("benchmark", "subset"))


def _labelled(runs: dict[str, str], found: pl.DataFrame) -> pl.DataFrame:
    """`found`'s rows (keyed by run_id) under their setting's label, in the order of `runs`."""
    labels = pl.DataFrame(
        {"setting": list(runs), "run_id": list(runs.values())},
        schema={"setting": pl.String, "run_id": pl.String},
    )
    return labels.join(found, on="run_id", how="inner", maintain_order="left")
