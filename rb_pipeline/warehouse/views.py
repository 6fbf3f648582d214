"""The DuckDB warehouse: views over the Parquet lake, catalog tables, and one view per `sql/*.sql`.

The file is rebuilt into a temporary name and renamed into place, so a reader never opens a
half-built warehouse. Views read the lake's files at query time, except the heavy history views named
in MATERIALIZED, which the file stores as tables computed when it is built (as are the bootstrap
intervals, `bootstrap_ci`), and the views over every model in WHOLE_TABLES, stored as tables
computed whole when it is built or updated (`refresh_whole_tables`). The warehouse asset updates the
file after every scores materialization (only the models whose lake files changed:
`rb_pipeline.warehouse.update`); `build_warehouse` is the full rebuild (`rb-pipeline warehouse
--rebuild`).
"""

from __future__ import annotations

import graphlib
import queue
import re
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import Any

import duckdb
import polars as pl

from rb_pipeline.catalog.entries import (
    AGGREGATIONS,
    RULES,
    Benchmark,
    Ensemble,
    load_ensembles,
)
from rb_pipeline.core.kinds import KINDS
from rb_pipeline.core.lake import UnverifiedFile, hash_differs
from rb_pipeline.core.paths import atomic_path, lake_dir, warehouse_path
from rb_pipeline.core.runs import process_alive
from rb_pipeline.core.schemas import (
    BENCHMARKS_SCHEMA,
    DATASET_TABLES,
    ENSEMBLE_MEMBERS_SCHEMA,
    EXAMPLES_SCHEMA,
    IMPORTED_METRICS_SCHEMA,
    IMPORTED_OUTCOMES_SCHEMA,
    JUDGMENTS_SCHEMA,
    MODEL_KINDS_SCHEMA,
    REJECTS_SCHEMA,
    RESPONSES_SCHEMA,
    RUNS_SCHEMA,
    SCORES_SCHEMA,
    SCORING_RULES_SCHEMA,
    SECTIONS_SCHEMA,
    STEP_SOLUTIONS_SCHEMA,
    STEPS_SCHEMA,
    SUBSET_WEIGHTS_SCHEMA,
)
from rb_pipeline.core.storage import attach_lake, is_remote
from rb_pipeline.core.text import first_line
from rb_pipeline.warehouse import sql_rules
from rb_pipeline.warehouse.prm import prm_catalog_tables, prm_sql_context
from rb_pipeline.warehouse.ranks import add_rank_groups, create_rank_table
from rb_pipeline.warehouse.sql_rules import SQL_DIR as SQL_DIR  # re-exported: where tests read it
from rb_pipeline.warehouse.sql_rules import sql_environment
from rb_pipeline.warehouse.stats import (
    add_confidence_intervals,
    create_bootstrap_table,
    store_outcome_digests,
)

LAKE_TABLES = {
    "examples": ("examples/*/*.parquet", EXAMPLES_SCHEMA),
    "responses": ("responses/*/*.parquet", RESPONSES_SCHEMA),
    "rejects": ("rejects/*/*.parquet", REJECTS_SCHEMA),
    # step-level benchmarks (process reward models): one row per solution, one per step
    "step_solutions": ("step_solutions/*/*.parquet", STEP_SOLUTIONS_SCHEMA),
    "steps": ("steps/*/*.parquet", STEPS_SCHEMA),
    # every score ever computed, stored once by the run that computed it (sql/run_scores.sql, sql/scores.sql)
    "stored_scores": ("scores/*/*/*.parquet", SCORES_SCHEMA),
    "runs": ("runs/*.parquet", RUNS_SCHEMA),
    "judgments": ("judgments/*/*/*.parquet", JUDGMENTS_SCHEMA),
    "imported_metrics": ("imported_metrics/*.parquet", IMPORTED_METRICS_SCHEMA),
    "imported_outcomes": ("imported_outcomes/*.parquet", IMPORTED_OUTCOMES_SCHEMA),
}
assert set(DATASET_TABLES) <= set(LAKE_TABLES)
# SQL views the warehouse file stores as tables (every other view reads the lake at query time), every row
# one model's (suspect_contributions: each model's part of suspect_labels, which an update only re-sums)
MATERIALIZED = (
    "runs_history",
    "example_outcomes_history",
    "subset_accuracy_history",
    "suspect_contributions",
)
# SQL views the warehouse file stores as tables computed over every model at once (no row belongs to one
# model): recomputed whole at each build and incremental update (suspect_labels: 8.7 s as a view over a
# 500-model lake; now a re-sum of suspect_contributions, bench/README.md)
WHOLE_TABLES = ("suspect_labels",)


class QueryError(ValueError):
    """A user's SQL failed; the message is DuckDB's, on one line."""


REBUILD_HINT = "a lake or warehouse file is broken: run `rb-pipeline warehouse --rebuild`"


# DuckDB's words when a query calls a function of an extension it would install or load first
# ("... install the required extension 'sqlite_scanner:\n...": the quote is never closed)
NEEDS_EXTENSION = re.compile(r"(?:install|load) the required extension '?(\w+)")


def query_error(exc: duckdb.Error) -> QueryError:
    """DuckDB's error on one line; a Parquet file it cannot read gets the way to mend it, and a query
    that needs an extension is told that none is installed or loaded (the warehouse's connection
    allows no file system access, so DuckDB's own message is about a directory it may not open)."""
    extension = NEEDS_EXTENSION.search(str(exc))
    if extension:
        return QueryError(
            f"this query needs DuckDB's extension {extension.group(1)}, which `rb-pipeline sql` neither"
            " installs nor loads: it reads the warehouse's tables and views only"
            ' (`rb-pipeline sql "show tables"` lists them)'
        )
    unreadable = isinstance(exc, (duckdb.IOException, duckdb.InvalidInputException)) and ".parquet" in str(
        exc
    )
    return QueryError(f"{first_line(exc)} ({REBUILD_HINT})" if unreadable else first_line(exc))


def catalog_tables(
    benchmarks: dict[str, Benchmark], ensembles: dict[str, Ensemble] | None = None
) -> dict[str, pl.DataFrame]:
    """`benchmarks`, `subset_weights`, `sections`, `scoring_rules` and `ensemble_members`, built from
    the catalog (ensembles: `load_ensembles()` unless given)."""
    ensembles = load_ensembles() if ensembles is None else ensembles
    weights, sections, rows = [], [], []
    for bench in benchmarks.values():
        rows.append(
            {
                "benchmark": bench.benchmark,
                "title": bench.title,
                "kind": bench.kind,
                "suspect_min_models": bench.suspect_min_models,
            }
        )
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
                    "needs": section.needs,
                    "aggregation": section.aggregation,
                }
            )
    scoring_rules = [
        {"rule": name, "applies_to": applies_to, "definition": text}
        for applies_to, rules in (("example", RULES), ("section", AGGREGATIONS))
        for name, text in rules.items()
    ]
    members = [
        {"ensemble": name, "member": member, "combine": ensemble.combine}
        for name, ensemble in ensembles.items()
        for member in ensemble.members
    ]
    return {
        "benchmarks": pl.DataFrame(rows, schema=BENCHMARKS_SCHEMA),
        "subset_weights": pl.DataFrame(weights, schema=SUBSET_WEIGHTS_SCHEMA),
        "sections": pl.DataFrame(sections, schema=SECTIONS_SCHEMA),
        "scoring_rules": pl.DataFrame(scoring_rules, schema=SCORING_RULES_SCHEMA),
        "ensemble_members": pl.DataFrame(members, schema=ENSEMBLE_MEMBERS_SCHEMA),
        "model_kinds": pl.DataFrame(
            [
                {"kind": name, "judged": kind.judges, "scores_steps": kind.scores_steps}
                for name, kind in KINDS.items()
            ],
            schema=MODEL_KINDS_SCHEMA,
        ),
        **prm_catalog_tables(benchmarks),
    }


def leaderboard_columns(benchmarks: dict[str, Benchmark]) -> list[str]:
    """The leaderboard's score columns, from the catalog: per benchmark (by leaderboard_position, then
    name) its overall's column, then its sections' columns; each column once."""
    columns: dict[str, None] = {}
    for bench in sorted(benchmarks.values(), key=lambda b: (b.leaderboard_position, b.benchmark)):
        if bench.overall is not None:
            columns[bench.overall.column] = None
        for section in bench.sections.values():
            columns[section.column] = None
    return list(columns)


def _quote(path: Path) -> str:
    return "'" + str(path).replace("'", "''") + "'"


def create_lake_views(
    con: duckdb.DuckDBPyConnection, lake: Path, files: dict[str, list[str]] | None = None
) -> None:
    """A view per lake table over its files, or an empty typed table while none exist. `files` limits
    the named tables to those files (the incremental update: only the models a run touched).

    Through fsspec (an object store without httpfs) each lake table is copied in once, from the files
    listed now: there DuckDB lists and opens every file again each time a view built on it is bound or
    queried (each request a Python call), and the SQL views took minutes over a few dozen files."""
    copy = attach_lake(con, lake) == "fsspec"
    for name in LAKE_TABLES:
        create_lake_view(con, lake, name, None if files is None else files.get(name), copy=copy)


REREADS = 3  # times a lake table is read again after one of its objects changed under the read


def create_lake_view(
    con: duckdb.DuckDBPyConnection,
    lake: Path,
    name: str,
    files: list[str] | None = None,
    into: str = "",
    copy: bool = False,
    temporary: bool = False,
) -> None:
    """`<into>name`: a view over the lake table's files (every file of its pattern, or `files`), or an
    empty typed table while there is none; with `copy`, a table holding the files' rows; `temporary`:
    for this connection only (it shadows the file's own)."""
    pattern, schema = LAKE_TABLES[name]
    temp = "temp " if temporary else ""
    for attempt in range(REREADS + 1):
        # lake paths stay as the lake gives them (a UPath of an object store is no local Path)
        listed = sorted(lake.glob(pattern)) if files is None else [Path(file) for file in files]
        if not listed:
            empty = pl.DataFrame(schema=schema).to_arrow()  # noqa: F841 (read by DuckDB by name)
            con.execute(f"create {temp}table {into}{name} as select * from empty")
            return
        source = (
            _quote(lake / pattern)
            if files is None and not copy
            else "[" + ", ".join(map(_quote, listed)) + "]"
        )
        try:
            # hive keys would replace `model` with its folder form `org--name`; files written before a
            # column existed read it as NULL (the union with the schema's typed, empty select)
            con.execute(
                f"create {temp}{'table' if copy else 'view'} {into}{name} as select * from read_parquet({source}, union_by_name = true, hive_partitioning = false)"
                f" union all by name {_typed_empty(con, schema)}"
            )
            return
        except duckdb.Error as error:
            # An object rewritten while it was read (a run record going from running to complete):
            # s3fs refuses the changed object. Each read sees a whole object; list and read again.
            if "FileExpired" not in str(error) or attempt == REREADS:
                raise


def _typed_empty(con: duckdb.DuckDBPyConnection, schema: dict) -> str:
    """A select of no rows with every column of `schema`, typed (DuckDB's names for polars' types)."""
    empty = pl.DataFrame(schema=schema).to_arrow()  # noqa: F841 (read by DuckDB by name)
    types = con.execute("select column_name, column_type from (describe select * from empty)").fetchall()
    return "select " + ", ".join(f'null::{kind} as "{column}"' for column, kind in types) + " where false"


def render_sql(sql_dir: Path, context: dict) -> dict[str, str]:
    """Each `sql/<name>.sql` rendered with Jinja (`context`: catalog-derived values such as the
    leaderboard's columns; `{% import 'macros/rules.sql' as rules with context %}` reaches the rules)."""
    environment = sql_environment(sql_dir)
    return {
        path.stem: environment.get_template(path.name).render(**context)
        for path in sorted(sql_dir.glob("*.sql"))
    }


def sql_context(benchmarks: dict[str, Benchmark]) -> dict:
    """What the SQL templates read from the catalog: the leaderboard's columns."""
    return {"leaderboard_columns": leaderboard_columns(benchmarks), **prm_sql_context(benchmarks)}


def names_read(sql: str, names: Iterable[str]) -> set[str]:
    """The `names` that `sql` reads: those it names after `from` or `join` (comments left out)."""
    code = re.sub(r"--[^\n]*", "", sql)
    return set(re.findall(r"\b(?:from|join)\s+([a-z_][a-z0-9_]*)", code, flags=re.IGNORECASE)) & set(names)


def view_order(bodies: dict[str, str], reading: Iterable[str] | None = None) -> list[str]:
    """The views in dependency order, read from the SQL itself: a view depends on every other view it
    names (`names_read`). A cycle is an error naming the views. With `reading` (queries), only the views
    those queries need, directly or through other views."""
    graph = {name: names_read(body, bodies) - {name} for name, body in bodies.items()}
    try:
        order = list(graphlib.TopologicalSorter(graph).static_order())
    except graphlib.CycleError as exc:
        raise RuntimeError(f"sql/: views depend on each other in a cycle: {exc.args[1]}") from None
    if reading is None:
        return order
    needed = set().union(*(names_read(sql, bodies) for sql in reading))
    for name in reversed(order):  # dependents come after what they read: one backward pass closes the set
        if name in needed:
            needed |= graph[name]
    return [name for name in order if name in needed]


def create_sql_views(
    con: duckdb.DuckDBPyConnection,
    benchmarks: dict[str, Benchmark],
    sql_dir: Path | None = None,
    materialize: tuple[str, ...] = (),
    reading: Iterable[str] | None = None,
) -> list[str]:
    """One view per `sql/<name>.sql` (a table for those in `materialize`), in dependency order; with
    `reading` (queries), only the ones they need (`view_order`)."""
    bodies = render_sql(sql_dir or sql_rules.SQL_DIR, sql_context(benchmarks))
    created = []
    for name in view_order(bodies, reading):
        kind = "table" if name in materialize else "view"
        try:
            con.execute(f"create {kind} {name} as {bodies[name]}")
        except duckdb.Error as exc:
            raise RuntimeError(f"sql/{name}.sql: {first_line(exc)}") from exc
        created.append(name)
    return created


def refresh_whole_tables(
    con: duckdb.DuckDBPyConnection, benchmarks: dict[str, Benchmark], database: str | None = None
) -> None:
    """Recompute the WHOLE_TABLES of `database` (an attached warehouse file during an update; default:
    the connection's) from its own tables and views: their SQL runs with `database` as the default, so
    every name it reads is that file's."""
    bodies = render_sql(sql_rules.SQL_DIR, sql_context(benchmarks))
    (previous,) = con.sql("select current_database()").fetchall()[0]
    con.execute(f'use "{database or previous}"')
    try:
        for name in WHOLE_TABLES:
            con.execute(f"create or replace table {name} as {bodies[name]}")
    finally:
        con.execute(f'use "{previous}"')


def populate(
    con: duckdb.DuckDBPyConnection,
    benchmarks: dict[str, Benchmark],
    materialize: bool = False,
    files: dict[str, list[str]] | None = None,
    intervals: bool | None = None,
    reading: Iterable[str] | None = None,
) -> None:
    """Catalog tables, lake views and SQL views into an open connection; with `materialize` (the
    warehouse file), the MATERIALIZED views as tables and (unless `intervals` is False) the bootstrap
    intervals and the rank groups (ranks.py) computed; `files`: see create_lake_views; `reading`: only
    the SQL views these queries need (create_sql_views)."""
    for name, frame in catalog_tables(benchmarks).items():
        arrow = frame.to_arrow()  # noqa: F841 (read by DuckDB by name)
        con.execute(f"create table {name} as select * from arrow")
    create_lake_views(con, lake_dir(), files)
    create_bootstrap_table(con)
    create_rank_table(con)
    create_sql_views(
        con, benchmarks, materialize=MATERIALIZED + WHOLE_TABLES if materialize else (), reading=reading
    )
    if materialize if intervals is None else intervals:
        add_confidence_intervals(con)
        store_outcome_digests(con)  # what they were computed from (update.py skips an unchanged model's)
        if files is None:  # ranks compare every model: a build over some models' files has none to rank
            add_rank_groups(con)


def in_memory(
    benchmarks: dict[str, Benchmark],
    files: dict[str, list[str]] | None = None,
    reading: Iterable[str] | None = None,
) -> duckdb.DuckDBPyConnection:
    """The warehouse in an in-memory database (for metadata, without locking the file), its
    MATERIALIZED views as tables (views over views over views cost seconds to bind), no bootstrap
    intervals; with `files` ({lake table: paths}, `update.model_files`), over those files only (a model's
    rows come from its own files: see rb_pipeline.warehouse.update); with `reading` (the queries to be
    run), only the views they need."""
    con = duckdb.connect()
    populate(con, benchmarks, materialize=True, files=files, intervals=False, reading=reading)
    return con


def build_warehouse(
    benchmarks: dict[str, Benchmark],
    path: Path | None = None,
    before_swap: Callable[[duckdb.DuckDBPyConnection], None] | None = None,
) -> Path:
    """Rebuild the warehouse file whole (catalog tables, lake views, SQL views) and swap it into place;
    `before_swap` writes into the new file first (`update.rebuild_warehouse` records the lake files it
    was built from, for the incremental update)."""
    path = path or warehouse_path()
    path.parent.mkdir(parents=True, exist_ok=True)
    remove_dead_builds(path)
    with atomic_path(path) as tmp:
        tmp.unlink()  # DuckDB makes its own file (an empty one is no database)
        try:
            with duckdb.connect(str(tmp)) as con:
                populate(con, benchmarks, materialize=True)
                if before_swap:
                    before_swap(con)
        finally:
            Path(f"{tmp}.wal").unlink(missing_ok=True)
    return path


def remove_dead_builds(path: Path) -> list[Path]:
    """Delete the temporary files (`.<name>.<pid>.<random>.tmp`, `core.paths.atomic_path`, and its `.wal`) of builds whose process is gone
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
    try:
        con = duckdb.connect(str(path), read_only=read_only)
    except duckdb.IOException as exc:  # not a DuckDB file (cut short, overwritten): build it again
        if "lock" in str(exc).lower():  # another process holds it: not broken
            raise
        raise QueryError(f"{path}: {first_line(exc)} ({REBUILD_HINT})") from None
    # DuckDB takes a caller without a script file (`python -c`, a notebook) for a terminal and draws its
    # progress bar on stdout, into the query's CSV or JSON
    con.execute("set enable_progress_bar = false")
    lake = lake_dir()
    attach_lake(con, lake)  # views read the lake at query time: an object store needs its reader
    if not is_remote(lake):  # (an object store's files would be downloaded to be hashed: not checked)
        follow_moved_lake(con, lake)
        changed = unverified_files(lake, checked_files(con))
        if changed:
            con.close()
            more = f" (and {len(changed) - 1} more)" if len(changed) > 1 else ""
            raise UnverifiedFile(
                f"{changed[0]}{more}: content hash differs from the one recorded when it was written:"
                " run `rb-pipeline warehouse` to set it aside (the next `score` scores its responses again)"
            )
    return con


def follow_moved_lake(con: duckdb.DuckDBPyConnection, lake: Path) -> None:
    """A warehouse file whose lake views name another folder (`RB_HOME` moved or copied) reads this
    lake: temporary views of the lake tables shadow the file's for this connection (the SQL views
    resolve the names when they run); the next `rb-pipeline warehouse` rebuilds the file for it."""
    views = con.execute(
        "select sql from duckdb_views() where not temporary and view_name in (select unnest($1))",
        [list(LAKE_TABLES)],
    ).fetchall()
    if all(str(lake).rstrip("/") + "/" in sql for (sql,) in views):
        return
    for name in LAKE_TABLES:
        create_lake_view(con, lake, name, temporary=True)


INPUTS_TABLE = "warehouse_inputs"  # the per-model lake files the file was computed from (update.py)
CHECKED_TABLE = "stored_scores"  # the lake table whose files carry the sha256 of their bytes in their name


def checked_files(con: duckdb.DuckDBPyConnection) -> set[tuple[str, int, int]]:
    """(path, size, mtime_ns) of the score files the warehouse was built from: checked then."""
    try:
        return set(
            con.execute(
                f"select path, size, mtime_ns from {INPUTS_TABLE} where lake_table = $1", [CHECKED_TABLE]
            ).fetchall()
        )
    except duckdb.CatalogException:  # a warehouse without a record (an interruption is not one)
        return set()


def unverified_files(lake: Path, checked: set[tuple[str, int, int]] = frozenset()) -> list[Path]:
    """The lake's score files whose bytes differ from the sha256 in their name (changed after they were
    written: by hand, a bad disk); files in `checked` ((path, size, mtime_ns) as a build recorded them
    after checking them) are not read again, so a query pays for a stat per file."""
    found = []
    for path in sorted(lake.glob(LAKE_TABLES[CHECKED_TABLE][0])):
        try:
            stat = path.stat()
        except FileNotFoundError:  # set aside meanwhile
            continue
        if (str(path), stat.st_size, stat.st_mtime_ns) not in checked and hash_differs(path):
            found.append(path)
    return found


# what `rb-pipeline sql` may run: queries (SELECT, WITH, FROM, VALUES, DESCRIBE, SHOW, SUMMARIZE parse as
# SELECT) and EXPLAIN of one; never COPY, EXPORT, ATTACH, INSTALL/LOAD, SET, PRAGMA, CALL or a write
READ_STATEMENTS = (duckdb.StatementType.SELECT, duckdb.StatementType.EXPLAIN)
EXPLAIN_PREFIX = re.compile(r"^\s*explain(\s+analyze)?\b", re.IGNORECASE)


def check_read_only(con: duckdb.DuckDBPyConnection, sql: str) -> None:
    """Refuse (QueryError) any statement that is not a query, checked per parsed statement; EXPLAIN
    ANALYZE runs what it explains, so the explained statement is checked too."""
    try:
        statements = con.extract_statements(sql)
    except duckdb.Error as exc:
        raise QueryError(first_line(exc)) from None
    if not statements:
        raise QueryError("no SQL statement given")
    for statement in statements:
        kind = statement.type
        if kind == duckdb.StatementType.EXPLAIN:
            explained = EXPLAIN_PREFIX.sub("", statement.query.strip(), count=1)
            if explained == statement.query.strip():  # comments before EXPLAIN: cannot tell what it runs
                raise QueryError("read-only: EXPLAIN must be the start of its statement")
            check_read_only(con, explained)
        elif kind not in READ_STATEMENTS:
            # a PIVOT that must first look up its column values runs as several statements
            hint = " (a PIVOT must list its values: `on col in (...)`)" if kind.name == "MULTI" else ""
            raise QueryError(
                "read-only: only queries (SELECT, WITH, DESCRIBE, SHOW, SUMMARIZE, EXPLAIN) may run,"
                f" not {kind.name}{hint}"
            )


def lake_directories(lake: Path | Any) -> list[str]:
    """The lake root as DuckDB's `allowed_directories` entries (an object store's file listings come
    back as `proto://path` or `proto:///path`, so both spellings)."""
    if not is_remote(lake):
        return [str(lake).rstrip("/") + "/"]
    protocol = lake.fs.protocol if isinstance(lake.fs.protocol, str) else lake.fs.protocol[0]
    path = lake.path.strip("/")
    return [f"{protocol}://{path}/", f"{protocol}:///{path}/"]


def lock_to_lake(con: duckdb.DuckDBPyConnection, lake: Path | Any) -> None:
    """No file outside the lake, no extension, no setting change for the rest of the connection."""
    directories = ", ".join(_quote(d) for d in lake_directories(lake))
    con.execute(f"set allowed_directories = [{directories}]")
    con.execute("set enable_external_access = false")
    con.execute("set lock_configuration = true")


@contextmanager
def _read_only(sqls: list[str], path: Path | None) -> Iterator[duckdb.DuckDBPyConnection]:
    """A warehouse connection that runs only query statements (`sqls`), reads no file outside the lake
    and cannot be reconfigured."""
    with connect(read_only=True, path=path) as con:
        for sql in sqls:
            check_read_only(con, sql)
        lock_to_lake(con, lake_dir())
        yield con


def query(sql: str, path: Path | None = None) -> pl.DataFrame:
    """Run a read-only query (see _read_only); DuckDB's error comes back as a one-line QueryError."""
    return queries([sql], path)[0]


def queries(sqls: list[str], path: Path | None = None) -> list[pl.DataFrame]:
    """Run read-only queries over one connection (opening one checks the lake: see `connect`)."""
    with _read_only(sqls, path) as con:
        try:
            return [con.sql(sql).pl() for sql in sqls]
        except duckdb.Error as exc:
            raise query_error(exc) from None


STREAM_ROWS = 65_536  # rows per batch of `stream_query`


def stream_query(
    sql: str,
    path: Path | None = None,
    timeout: float | None = None,
    batch_rows: int = STREAM_ROWS,
    stop_requested: Callable[[], bool] | None = None,
) -> Iterator[pl.DataFrame]:
    """A read-only query's result in batches (the first one holds at least the columns), for output
    that need not hold it whole. DuckDB runs it in a worker thread while this thread waits in Python,
    so Ctrl-C and SIGTERM (a KeyboardInterrupt here) and `timeout` seconds stop it: the query is
    interrupted (`DuckDBPyConnection.interrupt`), never left running. Closing the generator stops it too."""
    with _read_only([sql], path) as con:
        batches: queue.Queue = queue.Queue(maxsize=2)  # at most 2 batches wait for the reader
        stop = threading.Event()

        def produce() -> None:
            try:
                if stop.is_set():  # stopped before it began
                    return
                reader = con.sql(sql).to_arrow_reader(batch_rows)
                empty = True
                for batch in reader:
                    empty = False
                    while not stop.is_set():
                        try:
                            batches.put(pl.from_arrow(batch), timeout=0.1)
                            break
                        except queue.Full:
                            continue
                    if stop.is_set():
                        return
                if empty:
                    batches.put(pl.from_arrow(reader.schema.empty_table()))
                batches.put(None)
            except BaseException as exc:  # handed to the reading thread
                batches.put(exc)

        worker = threading.Thread(target=produce, name="rb-sql", daemon=True)
        deadline = None if timeout is None else time.monotonic() + timeout
        worker.start()
        try:
            while True:
                try:
                    item = batches.get(timeout=0.05)  # signals are handled between waits
                except queue.Empty:
                    # a stop signal whose KeyboardInterrupt DuckDB consumed in a call of this thread
                    if stop_requested is not None and stop_requested():
                        raise KeyboardInterrupt from None
                    if deadline is not None and time.monotonic() > deadline:
                        raise QueryError(
                            f"query stopped after its time limit (--timeout {timeout:g} s)"
                        ) from None
                    continue
                if item is None:
                    return
                if isinstance(item, duckdb.Error):
                    raise query_error(item)
                if isinstance(item, BaseException):
                    raise item
                yield item
        finally:
            stop.set()
            # interrupted within milliseconds; again while alive: a signal that came before the query
            # started executing would otherwise find nothing to interrupt and leave it running
            while worker.is_alive():
                con.interrupt()
                with suppress(queue.Empty):  # a batch put is dropped
                    batches.get(timeout=0.05)
