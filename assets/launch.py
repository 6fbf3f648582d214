"""Run the code location's jobs in-process against the persistent Dagster instance (for the CLI)."""

import os
from pathlib import Path

from dagster import AssetKey, DagsterInstance

from rb_pipeline.catalog import load_benchmarks
from rb_pipeline.normalize import source_problem
from rb_pipeline.paths import encode_model_id, rb_home

# In-process runs log to the console at WARNING: the CLI's own output is the leaderboard.
QUIET = {"loggers": {"console": {"config": {"log_level": "WARNING"}}}}
DAGSTER_YAML = "telemetry:\n  enabled: false\nnux:\n  enabled: false\n"


def ensure_dagster_home() -> Path:
    """`$DAGSTER_HOME` (default `$RB_HOME/dagster`) with telemetry and the sign-up pop-up off."""
    home = Path(os.environ.setdefault("DAGSTER_HOME", str(rb_home() / "dagster"))).resolve()
    home.mkdir(parents=True, exist_ok=True)
    config = home / "dagster.yaml"
    if not config.exists():
        config.write_text(DAGSTER_YAML)
    return home


def _instance() -> DagsterInstance:
    ensure_dagster_home()
    return DagsterInstance.get()


def materialize_datasets(benchmarks: list[str] | None = None) -> None:
    """Materialize the dataset assets (all, or the named benchmarks') with their blocking checks."""
    from assets.datasets import dataset_key
    from assets.definitions import defs

    if benchmarks is None:  # every benchmark whose data can be had (rb_pipeline.normalize.planned_origin)
        benchmarks = [name for name, bench in load_benchmarks().items() if source_problem(bench) is None]
    job = defs.resolve_job_def("materialize_datasets")
    selection = [dataset_key(name) for name in benchmarks]
    job.execute_in_process(instance=_instance(), asset_selection=selection, run_config=QUIET)


def materialize_scores(model_id: str, run_config: dict) -> None:
    """Add the model's partition if new and materialize its scores."""
    from assets.definitions import defs
    from assets.partitions import models_partitions

    instance = _instance()
    key = encode_model_id(model_id)
    if not instance.has_dynamic_partition(models_partitions.name, key):
        instance.add_dynamic_partitions(models_partitions.name, [key])
    job = defs.resolve_job_def("score_model")
    job.execute_in_process(
        instance=instance, partition_key=key, run_config=QUIET | {"ops": {"scores": {"config": run_config}}}
    )


def materialize_warehouse() -> None:
    """Rebuild the DuckDB warehouse."""
    from assets.definitions import defs

    defs.resolve_job_def("build_warehouse").execute_in_process(instance=_instance(), run_config=QUIET)


def last_metadata(key: AssetKey) -> dict:
    """The latest materialization's metadata of an asset (for tests and the CLI)."""
    event = _instance().get_latest_materialization_event(key)
    return {} if event is None else dict(event.asset_materialization.metadata)
