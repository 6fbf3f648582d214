"""The DuckDB warehouse: views over the Parquet lake, catalog tables, and one view per `sql/*.sql`.

The file is rebuilt into a temporary name and renamed into place, so a reader never opens a
half-built warehouse. Views read the lake's files at query time, except the heavy history views named
in MATERIALIZED, which the file stores as tables computed when it is built (as are the bootstrap
intervals, `bootstrap_ci`); the warehouse asset rebuilds the file after every scores materialization.
"""

from __future__ import annotations

import os
from pathlib import Path

import duckdb
import polars as pl

from rb_pipeline.catalog import Benchmark
from rb_pipeline.importer import IMPORTED_METRICS_SCHEMA, IMPORTED_OUTCOMES_SCHEMA
from rb_pipeline.judging import JUDGMENTS_SCHEMA
from rb_pipeline.lake import DATASET_TABLES
from rb_pipeline.normalize import EXAMPLES_SCHEMA, REJECTS_SCHEMA, RESPONSES_SCHEMA
from rb_pipeline.paths import REPO_ROOT, lake_dir, warehouse_path
from rb_pipeline.scoring import RUNS_SCHEMA, SCORES_SCHEMA, process_alive
from rb_pipeline.stats import add_confidence_intervals, create_bootstrap_table
from rb_pipeline.storage import attach_lake

SQL_DIR = REPO_ROOT / "sql"
LAKE_TABLES = {
    "examples": ("examples/*/*.parquet", EXAMPLES_SCHEMA),
    "responses": ("responses/*/*.parquet", RESPONSES_SCHEMA),
    "rejects": ("rejects/*/*.parquet", REJECTS_SCHEMA),
    # every score ever computed, stored once by the run that computed it (sql/run_scores.sql, sql/scores.sql)
    "stored_scores": ("scores/*/*/*.parquet", SCORES_SCHEMA),
    "runs": ("runs/*.parquet", RUNS_SCHEMA),
    "judgments": ("judgments/*/*/*.parquet", JUDGMENTS_SCHEMA),
    "imported_metrics": ("imported_metrics/*.parquet", IMPORTED_METRICS_SCHEMA),
    "imported_outcomes": ("imported_outcomes/*.parquet", IMPORTED_OUTCOMES_SCHEMA),
}
assert set(DATASET_TABLES) <= set(LAKE_TABLES)
# SQL views the warehouse file stores as tables (every other view reads the lake at query time)
MATERIALIZED = ("runs_history", "example_outcomes_history", "subset_accuracy_history")


class QueryError(ValueError):
    """A user's SQL failed; the message is DuckDB's, on one line."""


def catalog_tables(benchmarks: dict[str, Benchmark]) -> dict[str, pl.DataFrame]:
    """`benchmarks`, `subset_weights` and `sections`, built from the catalog."""
    weights, sections, rows = [], [], []
    for bench in benchmarks.values():
        rows.append({"benchmark": bench.benchmark, "title": bench.title, "kind": bench.kind})
        for name, subset in bench.all_subsets.items():
            weights.append(
                {
                    "benchmark": bench.benchmark,
                    "subset": name,
                    "section": subset.section,
                    "weight": bench.weight_of(name),
                    "expected_rows": subset.expected_rows,
                    "rule": bench.rule_of(name),
                }
            )
        for name, section in bench.sections.items():
            sections.append(
                {
                    "benchmark": bench.benchmark,
                    "section": name,
                    "title": section.title,
                    "column_name": section.column,
                    "overall": bench.overall.name if bench.overall else None,
                    "overall_column": bench.overall.column if bench.overall else None,
                    "overall_weight": section.overall_weight,
                    "required": section.required,
                }
            )
    return {
        "benchmarks": pl.DataFrame(
            rows, schema={"benchmark": pl.String, "title": pl.String, "kind": pl.String}
        ),
        "subset_weights": pl.DataFrame(
            weights,
            schema={
                "benchmark": pl.String,
                "subset": pl.String,
                "section": pl.String,
                "weight": pl.Float64,
                "expected_rows": pl.Int64,
                "rule": pl.String,
            },
        ),
        "sections": pl.DataFrame(
            sections,
            schema={
                "benchmark": pl.String,
                "section": pl.String,
                "title": pl.String,
                "column_name": pl.String,
                "overall": pl.String,
                "overall_column": pl.String,
                "overall_weight": pl.Float64,
                "required": pl.Boolean,
            },
        ),
    }


def _quote(path: Path) -> str:
    return "'" + str(path).replace("'", "''") + "'"


def create_lake_views(con: duckdb.DuckDBPyConnection, lake: Path) -> None:
    """A view per lake table over its files, or an empty typed table while none exist."""
    attach_lake(con, lake)
    for name, (pattern, schema) in LAKE_TABLES.items():
        if any(lake.glob(pattern)):
            # the files carry every column; hive keys would replace `model` with its folder form `org--name`
            con.execute(
                f"create view {name} as select * from read_parquet({_quote(lake / pattern)}, union_by_name = true, hive_partitioning = false)"
            )
        else:
            empty = pl.DataFrame(schema=schema).to_arrow()  # noqa: F841 (read by DuckDB by name)
            con.execute(f"create table {name} as select * from empty")


def create_sql_views(
    con: duckdb.DuckDBPyConnection, sql_dir: Path = SQL_DIR, materialize: tuple[str, ...] = ()
) -> list[str]:
    """One view per `sql/<name>.sql` (a table for those in `materialize`), created in dependency order
    (retrying those that need others)."""
    pending = {path.stem: path.read_text(encoding="utf-8") for path in sorted(sql_dir.glob("*.sql"))}
    created: list[str] = []
    while pending:
        errors: dict[str, duckdb.Error] = {}
        created_before = len(created)
        for name, body in list(pending.items()):
            try:
                kind = "table" if name in materialize else "view"
                con.execute(f"create {kind} {name} as {body}")
            except duckdb.Error as exc:  # maybe a view it reads is not created yet: retry
                errors[name] = exc
                continue
            created.append(name)
            del pending[name]
        if errors and len(created) == created_before:
            # nothing progressed: report an error that is not about a missing view, if any
            name, exc = next(
                ((n, e) for n, e in errors.items() if not isinstance(e, duckdb.CatalogException)),
                next(iter(errors.items())),
            )
            raise RuntimeError(f"sql/{name}.sql: {exc}")
    return created


def populate(
    con: duckdb.DuckDBPyConnection, benchmarks: dict[str, Benchmark], materialize: bool = False
) -> None:
    """Catalog tables, lake views and SQL views into an open connection; with `materialize` (the
    warehouse file), the MATERIALIZED views as tables and the bootstrap intervals computed."""
    for name, frame in catalog_tables(benchmarks).items():
        arrow = frame.to_arrow()  # noqa: F841 (read by DuckDB by name)
        con.execute(f"create table {name} as select * from arrow")
    create_lake_views(con, lake_dir())
    create_bootstrap_table(con)
    create_sql_views(con, materialize=MATERIALIZED if materialize else ())
    if materialize:
        add_confidence_intervals(con)


def in_memory(benchmarks: dict[str, Benchmark]) -> duckdb.DuckDBPyConnection:
    """The warehouse's views in an in-memory database (for metadata, without locking the file)."""
    con = duckdb.connect()
    populate(con, benchmarks)
    return con


def build_warehouse(benchmarks: dict[str, Benchmark], path: Path | None = None) -> Path:
    """Rebuild the warehouse file (catalog tables, lake views, SQL views) and swap it into place."""
    path = path or warehouse_path()
    path.parent.mkdir(parents=True, exist_ok=True)
    remove_dead_builds(path)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.unlink(missing_ok=True)
    try:
        with duckdb.connect(str(tmp)) as con:
            populate(con, benchmarks, materialize=True)
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
        Path(f"{tmp}.wal").unlink(missing_ok=True)
    return path


def remove_dead_builds(path: Path) -> list[Path]:
    """Delete the temporary files (`.<name>.<pid>.tmp` and its `.wal`) of builds whose process is gone
    (killed mid-build); a build in progress in another process keeps its own. Returns what was deleted."""
    removed = []
    for leftover in sorted(path.parent.glob(f".{path.name}.*.tmp*")):
        pid = leftover.name.removeprefix(f".{path.name}.").split(".")[0]
        if pid.isdigit() and not process_alive(int(pid)):
            leftover.unlink(missing_ok=True)
            removed.append(leftover)
    return removed


def connect(read_only: bool = True, path: Path | None = None) -> duckdb.DuckDBPyConnection:
    """Open the warehouse (read-only by default)."""
    path = path or warehouse_path()
    if not path.exists():
        raise FileNotFoundError(
            f"{path}: no warehouse yet (run `rb-pipeline demo` or materialize the assets)"
        )
    con = duckdb.connect(str(path), read_only=read_only)
    attach_lake(con, lake_dir())  # views read the lake at query time: an object store needs its reader
    return con


def query(sql: str, path: Path | None = None) -> pl.DataFrame:
    """Run one read-only query; DuckDB's error comes back as a one-line QueryError."""
    with connect(read_only=True, path=path) as con:
        try:
            return con.sql(sql).pl()
        except duckdb.Error as exc:
            raise QueryError(str(exc).splitlines()[0]) from None
