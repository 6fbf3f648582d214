"""The run record: one row per run in `lake/runs/` (RUNS_SCHEMA), built in one place (`run_record`) for
every kind of run: computed (engine), null baselines (warehouse.stats), imported (sources.results.importer).

A running run's record carries its host and pid, so a run whose process died (kill -9, a lost node) is
found and marked failed (`fail_dead_runs`).
"""

from __future__ import annotations

import json
import os
import platform
import socket
import subprocess
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from importlib import metadata

import polars as pl

from rb_pipeline.core.lake import run_path, write_parquet
from rb_pipeline.core.paths import REPO_ROOT, lake_dir
from rb_pipeline.core.schemas import RUNS_SCHEMA
from rb_pipeline.core.storage import scan_parquet

STOPPED = "interrupted"  # a run stopped from outside (SIGINT, SIGTERM); an error marks it `failed`


def package_versions() -> dict[str, str]:
    """Versions of the packages that decide a score."""
    names = ("rb-pipeline", "torch", "transformers", "tokenizers", "polars", "duckdb", "dagster")
    versions = {}
    for name in names:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = "absent"
    versions["python"] = platform.python_version()
    return versions


def git_hash() -> str:
    """The repository's commit, or 'unknown' outside a checkout."""
    try:
        result = subprocess.run(
            ["git", "rev-parse", "HEAD"], cwd=REPO_ROOT, capture_output=True, text=True, timeout=5
        )
    except (OSError, subprocess.TimeoutExpired):
        return "unknown"
    return result.stdout.strip() if result.returncode == 0 else "unknown"


def new_run_id() -> str:
    """Sortable by start time, unique across processes."""
    return datetime.now(UTC).strftime("%Y%m%dT%H%M%S") + "-" + uuid.uuid4().hex[:8]


def write_run(record: dict) -> None:
    """Write (or rewrite) one run's row; a column it does not give is empty (an imported run has no
    device, a baseline no max_length), a column RUNS_SCHEMA does not know is an error."""
    unknown = sorted(set(record) - set(RUNS_SCHEMA))
    if unknown:
        raise KeyError(f"run record: unknown columns {unknown} (RUNS_SCHEMA)")
    write_parquet(pl.DataFrame([record], schema=RUNS_SCHEMA), run_path(record["run_id"]))


def ended_record(record: dict, error: BaseException) -> dict:
    """A run's row once an exception ended it: `interrupted` when stopped from outside (a signal
    raises KeyboardInterrupt, or Dagster's DagsterExecutionInterruptedError), else `failed`."""
    status = "failed" if isinstance(error, Exception) else STOPPED
    return record | {"status": status, "ended_at": datetime.now(UTC)}


def process_alive(pid: int) -> bool:
    """Whether a process with this pid exists on this host."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # exists, owned by someone else
        return True
    return True


def fail_dead_runs(log: Callable[[str], None] = print) -> list[str]:
    """Mark `failed` every run still `running` whose process, on this host, is gone; return their ids.
    (Runs of other hosts are left alone: their pids mean nothing here.)"""
    files = sorted(lake_dir("runs").glob("*.parquet"))
    if not files:
        return []
    running = scan_parquet(files, RUNS_SCHEMA).filter(
        (pl.col("status") == "running") & (pl.col("host") == socket.gethostname())
    )
    dead = [row for row in running.collect().iter_rows(named=True) if not process_alive(row["pid"])]
    for row in dead:
        write_run(row | {"status": "failed", "ended_at": datetime.now(UTC)})
        log(f"run {row['run_id']} of {row['model']}: its process {row['pid']} is gone; marked failed")
    return [row["run_id"] for row in dead]


def run_record(
    run_id: str,
    model: str,
    settings: dict,
    settings_key: str,
    benchmarks: list[str],
    *,
    status: str = "running",
    provenance: str = "computed",
    started_at: datetime | None = None,
    **columns: object,
) -> dict:
    """One run's row with its provenance (package versions, git hash); `columns` are the other
    RUNS_SCHEMA columns the run knows (model_type, device, counts, ...). A `running` run gets this
    process's host and pid; a run written complete at once has no process to watch, and ends now."""
    now = datetime.now(UTC)
    running = status == "running"
    return {
        "run_id": run_id,
        "model": model,
        "settings": json.dumps(settings, sort_keys=True, default=str),
        "settings_key": settings_key,
        "benchmarks": sorted(benchmarks),
        "started_at": started_at or now,
        "ended_at": None if running else now,
        "status": status,
        "provenance": provenance,
        "package_versions": json.dumps(package_versions(), sort_keys=True),
        "git_hash": git_hash(),
        "host": socket.gethostname() if running else None,
        "pid": os.getpid() if running else None,
        **columns,
    }
