"""The warehouse updated in place of a rebuild: a new run's rows go in without recomputing the history.

Every row of a materialized table (views.MATERIALIZED, and the bootstrap intervals) belongs to one
model (the rank groups and views.WHOLE_TABLES compare models: they are recomputed whole) and is computed from that model's own lake files (its run records, stored scores, judgments,
imported results), the shared normalized data and the catalog; an offline ensemble's rows from its
members' files. So the file records what it was computed from: `warehouse_inputs` (each per-model lake
file: path, size, mtime, model) and `warehouse_state` (a fingerprint of the shared inputs: the
normalized data's files, the catalog tables, the rendered SQL, the code that computes the tables; and
what the last build or update did). `update_warehouse` lists the lake and then:

* the shared fingerprint differs, nothing is recorded, or the lake is on an object store: the full
  rebuild (`views.build_warehouse`, also `rb-pipeline warehouse --rebuild`);
* no file was added, changed or removed: nothing is written (the file keeps its inode and mtime);
* else the touched models (those of the added, changed and removed files; with every ensemble one of
  them is in, and its members) are computed by the very SQL of the full build, in an in-memory database
  whose lake views read only those models' files; their rows then replace the old ones in a copy of the
  warehouse file, in one transaction, and the copy is renamed into place (copy-on-write: a reader keeps
  the file it opened, a new reader gets the whole new one; DuckDB's writer lock would otherwise shut
  read-only readers out while it writes). A failure on the incremental path falls back to the rebuild.

Writers take a lock file beside the warehouse, so two updates never race to rename.
"""

from __future__ import annotations

import hashlib
import json
import shutil
import time
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import Path

import duckdb
import polars as pl
from filelock import FileLock

from rb_pipeline.catalog.entries import Benchmark
from rb_pipeline.core.lake import hash_differs, set_aside
from rb_pipeline.core.paths import atomic_path, decode_model_key, lake_dir, warehouse_path
from rb_pipeline.core.schemas import DATASET_TABLES
from rb_pipeline.core.storage import is_remote
from rb_pipeline.core.text import first_line
from rb_pipeline.warehouse import ranks, sql_rules, stats, views

INPUTS_TABLE = views.INPUTS_TABLE  # the per-model lake files the file was computed from
STATE_TABLE = "warehouse_state"  # one row: shared fingerprint, and what the last build or update did
# tables of the file holding rows per model (the rest are views, or the catalog's)
PER_MODEL_TABLES = (*views.MATERIALIZED, stats.BOOTSTRAP_TABLE, stats.OUTCOME_DIGESTS)
# tables whose rows need recomputing only where a model's outcome digest changed (stats.outcomes_changed)
FROM_OUTCOMES = (stats.BOOTSTRAP_TABLE, stats.OUTCOME_DIGESTS)
# per-model lake tables, by where a file's model is read: its folder (`model=<key>/run=<id>/`) or its
# own `model` column (one small file per run)
MODEL_FOLDER_TABLES = ("stored_scores", "judgments")
MODEL_COLUMN_TABLES = ("runs", "imported_metrics", "imported_outcomes")
assert set(MODEL_FOLDER_TABLES + MODEL_COLUMN_TABLES + DATASET_TABLES) == set(views.LAKE_TABLES)
FILES_SCHEMA = {"lake_table": pl.String, "path": pl.String, "size": pl.Int64, "mtime_ns": pl.Int64}
INPUTS_SCHEMA = FILES_SCHEMA | {"model": pl.String}
# the code whose change changes the materialized rows without any lake file changing
CODE = (views, stats, sql_rules, ranks)


@dataclass(frozen=True)
class LakeInputs:
    """What a build reads: the shared inputs' fingerprint and the per-model files (FILES_SCHEMA)."""

    shared_sha256: str
    files: pl.DataFrame
    present: frozenset[str]  # lake tables with at least one file


@dataclass(frozen=True)
class WarehouseUpdate:
    """What `update_warehouse` did: mode `full` (with `reason`), `incremental` or `unchanged`."""

    path: Path
    mode: str
    models: tuple[str, ...] = ()  # the models whose rows were recomputed (incremental)
    reason: str = ""
    seconds: float = 0.0
    set_aside: tuple[str, ...] = ()  # score files whose bytes no longer matched their name (lake.set_aside)
    # incremental: whether the models' outcomes changed; where not (a re-run that reused every score),
    # their intervals, the rank groups and the whole tables were kept, not recomputed
    outcomes_changed: bool = True


def list_files(lake: Path, tables: tuple[str, ...]) -> pl.DataFrame:
    """The lake tables' Parquet files with size and mtime (FILES_SCHEMA); a file gone meanwhile is left out."""
    rows = []
    for table in tables:
        for path in lake.glob(views.LAKE_TABLES[table][0]):
            try:
                stat = path.stat()
            except FileNotFoundError:
                continue
            rows.append((table, str(path), stat.st_size, stat.st_mtime_ns))
    return pl.DataFrame(rows, schema=FILES_SCHEMA, orient="row").sort("path")


def shared_fingerprint(benchmarks: dict[str, Benchmark], shared_files: pl.DataFrame) -> str:
    """sha256 over what every model's rows depend on: the normalized data's files, the catalog tables,
    the rendered SQL, the code computing the tables and DuckDB's version."""
    digest = hashlib.sha256()
    digest.update(shared_files.write_csv().encode())
    for name, frame in sorted(views.catalog_tables(benchmarks).items()):
        digest.update(name.encode() + frame.write_csv().encode())
    bodies = views.render_sql(sql_rules.SQL_DIR, views.sql_context(benchmarks))
    digest.update(json.dumps(bodies, sort_keys=True).encode())
    for module in CODE:
        digest.update(Path(module.__file__).read_bytes())
    digest.update(duckdb.__version__.encode())
    return digest.hexdigest()


def lake_inputs(benchmarks: dict[str, Benchmark]) -> LakeInputs | None:
    """The lake's inputs now; None for a lake on an object store (it is always rebuilt whole)."""
    lake = lake_dir()
    if is_remote(lake):
        return None
    files = list_files(lake, MODEL_FOLDER_TABLES + MODEL_COLUMN_TABLES)
    shared = list_files(lake, DATASET_TABLES)
    present = set(files["lake_table"]) | set(shared["lake_table"])
    return LakeInputs(shared_fingerprint(benchmarks, shared), files, frozenset(present))


def file_models(files: pl.DataFrame) -> pl.DataFrame:
    """Each file's model(s) (INPUTS_SCHEMA): from the folder `model=<key>` for scores and judgments,
    else read from the file's `model` column."""
    by_folder = files.filter(pl.col("lake_table").is_in(MODEL_FOLDER_TABLES)).with_columns(
        model=pl.col("path").map_elements(
            lambda path: decode_model_key(Path(path).parent.parent.name.removeprefix("model=")),
            return_dtype=pl.String,
        )
    )
    by_column = files.filter(pl.col("lake_table").is_in(MODEL_COLUMN_TABLES))
    if by_column.height:
        listed = ", ".join(views._quote(Path(path)) for path in by_column["path"])
        models = duckdb.sql(
            f"select distinct filename as path, model from read_parquet([{listed}], filename = true,"
            " union_by_name = true, hive_partitioning = false)"
        ).pl()
        by_column = by_column.join(models, on="path", how="left")
    else:
        by_column = by_column.with_columns(model=pl.lit(None, pl.String))
    return pl.concat([by_folder, by_column]).select(list(INPUTS_SCHEMA)).cast(INPUTS_SCHEMA)


def record_inputs(
    con: duckdb.DuckDBPyConnection,
    inputs: LakeInputs | None,
    mode: str,
    models: list[str] | None,
    known: pl.DataFrame | None = None,
    into: str = "",
    seconds: float | None = None,
) -> None:
    """Write `warehouse_inputs` and `warehouse_state` into `<into>` (a remote lake records nothing:
    its next update is a rebuild). `known`: inputs recorded before, whose models need not be read again."""
    if inputs is None:
        return
    files = resolve(inputs.files, pl.DataFrame(schema=INPUTS_SCHEMA) if known is None else known)
    rows = files.sort("path", "model").to_arrow()  # noqa: F841 (read by DuckDB by name)
    state = pl.DataFrame(  # noqa: F841 (read by DuckDB by name)
        [
            {
                "shared_sha256": inputs.shared_sha256,
                "present": sorted(inputs.present),
                "mode": mode,
                "models": models,
                "updated_at": datetime.now(UTC),
                "seconds": seconds,
            }
        ],
        schema={
            "shared_sha256": pl.String,
            "present": pl.List(pl.String),
            "mode": pl.String,
            "models": pl.List(pl.String),
            "updated_at": pl.Datetime("us", "UTC"),
            "seconds": pl.Float64,
        },
    ).to_arrow()
    con.execute(f"create or replace table {into}{INPUTS_TABLE} as select * from rows")
    con.execute(f"create or replace table {into}{STATE_TABLE} as select * from state")


def recorded(path: Path) -> tuple[str, pl.DataFrame] | None:
    """(shared fingerprint, inputs) recorded in the warehouse file; None without a record."""
    try:
        with duckdb.connect(str(path), read_only=True) as con:
            (fingerprint,) = con.sql(f"select shared_sha256 from {STATE_TABLE}").fetchall()[0]
            inputs = con.sql(f"select * from {INPUTS_TABLE}").pl()
    except (duckdb.Error, IndexError):
        return None
    return fingerprint, inputs.cast(INPUTS_SCHEMA)


def resolve(files: pl.DataFrame, known: pl.DataFrame) -> pl.DataFrame:
    """`files` with their models (INPUTS_SCHEMA): as recorded where a file is unchanged, else read."""
    keys = list(FILES_SCHEMA)
    return pl.concat(
        [files.join(known, on=keys, how="inner"), file_models(files.join(known, on=keys, how="anti"))]
    )


def files_of(resolved: pl.DataFrame, models: set[str]) -> dict[str, list[str]]:
    """Per per-model lake table, the files of `models` (`resolved`: INPUTS_SCHEMA)."""
    theirs = resolved.filter(pl.col("model").is_in(sorted(models)))
    return {
        table: sorted(set(theirs.filter(pl.col("lake_table") == table)["path"]))
        for table in MODEL_FOLDER_TABLES + MODEL_COLUMN_TABLES
    }


def model_files(models: list[str], path: Path | None = None) -> dict[str, list[str]] | None:
    """The lake files of `models` (see files_of), their models read only where the warehouse file has
    no record of them; None for a lake on an object store (read it whole)."""
    lake = lake_dir()
    if is_remote(lake):
        return None
    path = path or warehouse_path()
    before = recorded(path) if path.exists() else None
    known = before[1] if before else pl.DataFrame(schema=INPUTS_SCHEMA)
    return files_of(resolve(list_files(lake, MODEL_FOLDER_TABLES + MODEL_COLUMN_TABLES), known), set(models))


def with_ensembles(models: set[str], members: pl.DataFrame) -> set[str]:
    """`models`, plus every offline ensemble with a member among them and all of its members (an
    ensemble's rows are computed from its members' files)."""
    groups: dict[str, set[str]] = {}
    for ensemble, member in members.select("ensemble", "member").iter_rows():
        groups.setdefault(ensemble, set()).add(member)
    hit = [ensemble for ensemble, group in groups.items() if group & models or ensemble in models]
    return models.union(hit, *(groups[ensemble] for ensemble in hit))


def update_warehouse(
    benchmarks: dict[str, Benchmark], path: Path | None = None, rebuild: bool = False
) -> WarehouseUpdate:
    """Bring the warehouse file up to date with the lake: incrementally where it can (see the module's
    docstring), else (or with `rebuild`) by the full rebuild."""
    path = path or warehouse_path()
    path.parent.mkdir(parents=True, exist_ok=True)
    start = time.perf_counter()
    with FileLock(path.with_name(f".{path.name}.lock")):
        inputs = lake_inputs(benchmarks)  # listed once: checked, then built or updated from
        before = None if rebuild or not path.exists() else recorded(path)
        inputs, moved = set_aside_changed(inputs, before[1] if before else None)
        reason = "asked (--rebuild)" if rebuild else ""
        if not reason:
            reason, result = _try_incremental(benchmarks, path, inputs, before, start)
            if result is not None:
                return replace(result, set_aside=moved)
        rebuild_warehouse(benchmarks, path, inputs)
    return WarehouseUpdate(path, "full", reason=reason, seconds=time.perf_counter() - start, set_aside=moved)


def set_aside_changed(
    inputs: LakeInputs | None, known: pl.DataFrame | None
) -> tuple[LakeInputs | None, tuple[str, ...]]:
    """Set aside (out of every view) the listed score files whose bytes differ from the hash in their
    name, so no build serves them. Only files the warehouse has no unchanged record of (`known`: path,
    size, mtime, recorded by the build or update that checked them) are read: all on a rebuild.
    Returns the inputs without the files set aside, and their new paths."""
    if inputs is None:  # an object store's files would be downloaded to be hashed: not checked
        return None, ()
    scores = inputs.files.filter(pl.col("lake_table") == views.CHECKED_TABLE)
    if known is not None:
        scores = scores.join(known, on=list(FILES_SCHEMA), how="anti")
    changed = [path for path in scores["path"] if hash_differs(Path(path))]
    if not changed:
        return inputs, ()
    moved = tuple(str(set_aside(Path(path))) for path in changed)
    files = inputs.files.filter(~pl.col("path").is_in(changed))
    present = inputs.present - {views.CHECKED_TABLE} | set(files["lake_table"])
    return replace(inputs, files=files, present=frozenset(present)), moved


def rebuild_warehouse(
    benchmarks: dict[str, Benchmark], path: Path | None = None, inputs: LakeInputs | None = None
) -> Path:
    """The full rebuild (`views.build_warehouse`), recording the lake files it was built from
    (`inputs`, as `update_warehouse` listed and checked them; else listed here)."""
    if inputs is None:  # listed first: a file written during the build is new next time
        inputs = lake_inputs(benchmarks)
    return views.build_warehouse(
        benchmarks, path, before_swap=lambda con: record_inputs(con, inputs, mode="full", models=None)
    )


def _try_incremental(
    benchmarks: dict[str, Benchmark],
    path: Path,
    inputs: LakeInputs | None,
    before: tuple[str, pl.DataFrame] | None,
    start: float,
) -> tuple[str, WarehouseUpdate | None]:
    """(why a full rebuild is needed, None) or ("", what the incremental update did), from the lake's
    `inputs` and what the file recorded (`before`, see `recorded`)."""
    if inputs is None:
        return "the lake is on an object store", None
    if before is None:
        return "no warehouse with a record of its inputs yet", None
    fingerprint, known = before
    if fingerprint != inputs.shared_sha256:
        return "the normalized data, catalog, SQL or code changed", None
    keys = list(FILES_SCHEMA)
    added = file_models(inputs.files.join(known, on=keys, how="anti"))
    removed = known.join(inputs.files, on=keys, how="anti")
    touched = set(added["model"].drop_nulls()) | set(removed["model"].drop_nulls())
    if not touched:
        return "", WarehouseUpdate(path, "unchanged", seconds=time.perf_counter() - start)
    members = views.catalog_tables(benchmarks)["ensemble_members"]
    models = sorted(with_ensembles(touched, members))
    try:
        changed = _apply(benchmarks, path, inputs, pl.concat([known, added]), models, start)
    except (duckdb.Error, RuntimeError) as exc:  # e.g. a model's old files lack a column: rebuild
        return f"the incremental update failed: {first_line(exc)}", None
    seconds = time.perf_counter() - start
    return "", WarehouseUpdate(path, "incremental", tuple(models), seconds=seconds, outcomes_changed=changed)


def _apply(
    benchmarks: dict[str, Benchmark],
    path: Path,
    inputs: LakeInputs,
    known: pl.DataFrame,
    models: list[str],
    start: float,
) -> bool:
    """Compute `models`' rows over their files only, and swap them into a copy of the file. What is
    computed from the models' outcomes alone (intervals, rank groups, whole tables) is recomputed only
    where their outcome digests changed; returns whether they did."""
    lake = lake_dir()
    files = files_of(inputs.files.join(known, on=list(FILES_SCHEMA), how="inner"), set(models))
    with atomic_path(path) as tmp, duckdb.connect() as con:
        try:
            views.populate(
                con, benchmarks, materialize=True, files=files, intervals=False, reading=_computed()
            )
            stats.store_outcome_digests(con)
            shutil.copyfile(path, tmp)
            con.execute(f"attach {views._quote(tmp)} as target")
            changed = stats.outcomes_changed(con, models, "target.main.")
            if changed:
                stats.add_confidence_intervals(con)
            con.execute("begin transaction")
            touched = pl.DataFrame({"model": models}).to_arrow()  # noqa: F841 (read by DuckDB by name)
            for table in PER_MODEL_TABLES:
                if table in FROM_OUTCOMES and not changed:
                    continue
                con.execute(f"delete from target.main.{table} where model in (select model from touched)")
                con.execute(f"insert into target.main.{table} by name select * from {table}")
            if changed:  # rank groups compare every model with every other: recomputed over the whole target
                ranks.add_rank_groups(con, prefix="target.main.", max_models=ranks.UPDATE_MAX_MODELS)
            _refresh_lake_views(con, lake, inputs.present)
            if changed:
                views.refresh_whole_tables(con, benchmarks, "target")  # after: they read the lake views
            record_inputs(
                con, inputs, "incremental", models, known, "target.main.", time.perf_counter() - start
            )
            con.execute("commit")
            con.execute("detach target")
        finally:
            Path(f"{tmp}.wal").unlink(missing_ok=True)
    return changed


def _computed() -> list[str]:
    """What an update computes in memory, as queries (views.view_order's `reading`): the per-model tables
    and what the intervals and outcome digests read; the other views are the target file's own."""
    tables = [f"select * from {table}" for table in views.MATERIALIZED]
    return tables + sql_rules.template_texts("queries/stats", "macros")


def _refresh_lake_views(con: duckdb.DuckDBPyConnection, lake: Path, present: frozenset[str]) -> None:
    """A lake table is a view over its files once it has any, an empty typed table before: turn the
    target's ones whose files came (or went) since the last build."""
    existing = {
        name
        for (name,) in con.sql(
            "select view_name from duckdb_views() where database_name = 'target'"
        ).fetchall()
    }
    for name in MODEL_FOLDER_TABLES + MODEL_COLUMN_TABLES:
        if (name in present) != (name in existing):
            con.execute(f"drop {'view' if name in existing else 'table'} target.main.{name}")
            views.create_lake_view(con, lake, name, into="target.main.")
