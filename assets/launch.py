"""Run the code location's jobs in-process against the persistent Dagster instance (for the CLI)."""

import functools
import os
import signal
import socket
import threading
from pathlib import Path

from dagster import AssetKey, DagsterInstance, DagsterRunStatus, RunsFilter
from filelock import FileLock

from assets.tags import HOST_TAG, PID_TAG, process_tags
from rb_pipeline.catalog.entries import load_benchmarks
from rb_pipeline.core.paths import atomic_path, encode_model_id, rb_home
from rb_pipeline.core.runs import process_alive
from rb_pipeline.sources.normalize import source_problem

# In-process runs log to the console only when critical: the CLI's own output is the leaderboard, and a
# failed or interrupted run is one line of the CLI (the full story is in the instance's event log).
QUIET = {"loggers": {"console": {"config": {"log_level": "CRITICAL"}}}}
DAGSTER_YAML = "telemetry:\n  enabled: false\nnux:\n  enabled: false\n"


def ensure_dagster_home() -> Path:
    """`$DAGSTER_HOME` (default `$RB_HOME/dagster`) with telemetry and the sign-up pop-up off."""
    home = Path(os.environ.setdefault("DAGSTER_HOME", str(rb_home() / "dagster"))).resolve()
    home.mkdir(parents=True, exist_ok=True)
    config = home / "dagster.yaml"
    if not config.exists():
        with atomic_path(config) as tmp:  # a concurrent reader never sees an empty file
            tmp.write_text(DAGSTER_YAML)
    return home


def _instance_lock() -> FileLock:
    """A lock file in the Dagster home, for what must not run in two processes at once."""
    return FileLock(ensure_dagster_home() / ".instance.lock")


def _instance() -> DagsterInstance:
    """The persistent instance, opened once per process and Dagster home (opening it checks the
    storages' schema: about a second, which a command paid three times)."""
    return _instance_at(ensure_dagster_home())


@functools.cache
def _instance_at(home: Path) -> DagsterInstance:
    """The instance of `home`. Its SQLite storages are created (and migrated) on first use; two
    processes doing that at once collide (`table ... already exists`, `UNIQUE constraint failed:
    alembic_version`), so one process at a time opens it."""
    with _instance_lock():
        return DagsterInstance.get()


def reap_dead_runs(instance: DagsterInstance) -> list[str]:
    """Mark failed the started runs of this host whose process is gone (kill -9, OOM) and free the pool
    slots they held: else the next run waits for a slot forever. Returns their run ids."""
    dead = []
    for run in instance.get_runs(
        filters=RunsFilter(statuses=[DagsterRunStatus.STARTING, DagsterRunStatus.STARTED])
    ):
        pid = run.tags.get(PID_TAG)
        if run.tags.get(HOST_TAG) == socket.gethostname() and pid and not process_alive(int(pid)):
            instance.report_run_failed(run, f"the run's process {pid} is gone (killed?); marked failed")
            instance.event_log_storage.free_concurrency_slots_for_run(run.run_id)
            dead.append(run.run_id)
    return dead


def run_job(name: str, run_config: dict, **kwargs: object):
    """Run the code location's job `name` in-process on the persistent instance (quiet console, this
    process's tags) and return its result. Dagster puts SIGINT's handler back after a run and copies it
    to SIGTERM: where SIGINT is ignored (a background job of a script), SIGTERM would then be ignored for
    the rest of the command, so SIGTERM's own handler is put back too."""
    from assets.definitions import defs

    sigterm = signal.getsignal(signal.SIGTERM)
    try:
        return defs.resolve_job_def(name).execute_in_process(
            instance=_instance(), run_config=QUIET | run_config, tags=process_tags(), **kwargs
        )
    finally:
        if threading.current_thread() is threading.main_thread() and sigterm is not None:
            signal.signal(signal.SIGTERM, sigterm)


def materialize_datasets(benchmarks: list[str] | None = None) -> None:
    """Materialize the dataset assets (all, or the named benchmarks') with their blocking checks."""
    from assets.datasets import dataset_key

    if benchmarks is None:  # every benchmark whose data can be had (sources.normalize.planned_origin)
        benchmarks = [name for name, bench in load_benchmarks().items() if source_problem(bench) is None]
    run_job("materialize_datasets", {}, asset_selection=[dataset_key(name) for name in benchmarks])


def materialize_scores(model_id: str, run_config: dict) -> None:
    """Add the model's partition if new and materialize its scores (after reaping dead runs, whose
    pool slots would otherwise block it)."""
    from assets.partitions import models_partitions

    instance = _instance()
    reap_dead_runs(instance)
    key = encode_model_id(model_id)
    with _instance_lock():  # check-then-add, one process at a time
        if not instance.has_dynamic_partition(models_partitions.name, key):
            instance.add_dynamic_partitions(models_partitions.name, [key])
    run_job("score_model", {"ops": {"scores": {"config": run_config}}}, partition_key=key)


def materialize_warehouse(rebuild: bool = False) -> None:
    """Update the DuckDB warehouse with what is new in the lake (with `rebuild`: rebuild it whole)."""
    run_job("build_warehouse", {"ops": {"warehouse": {"config": {"rebuild": rebuild}}}})


def run_audit(run_config: dict):
    """Run the invariance audit job (assets/audit.py) and return its reports (polars frames): per
    setting against the baseline, and a judge's position flips per setting and subset."""
    result = run_job("audit_model", {"ops": {"invariance_audit": {"config": run_config}}})
    return tuple(result.output_for_node("invariance_audit", name) for name in ("report", "orders"))


def last_metadata(key: AssetKey) -> dict:
    """The latest materialization's metadata of an asset (for tests and the CLI)."""
    event = _instance().get_latest_materialization_event(key)
    return {} if event is None else dict(event.asset_materialization.metadata)
