"""The one `Definitions` of the code location (named by workspace.yaml and pyproject's [tool.dagster])."""

import os

from dagster import AssetSelection, Definitions, define_asset_job

from assets.audit import audit_model_job
from assets.datasets import dataset_asset
from assets.hub import hub_dataset
from assets.new_model import added_model_sensor, score_new_model
from assets.report import report
from assets.resources import ScoringResource
from assets.scores import scores_asset
from assets.sensors import model_catalog_sensor
from assets.warehouse import warehouse, warehouse_sensor
from rb_pipeline.catalog.entries import load_benchmarks


def scoring_executor():
    """The executor of the scoring job, chosen here by `RB_EXECUTOR`: Dagster's default
    (in-process / multiprocess), or `celery` (each model partition's step on a Celery worker:
    deploy/celery/)."""
    if os.environ.get("RB_EXECUTOR", "default") == "celery":
        from dagster_celery import celery_executor

        return celery_executor
    return None


def scoring_device() -> str | None:
    """The one place the device is chosen: `RB_DEVICE`, else None: cuda when present, else cpu, decided
    by the engine when it loads a model (finding a GPU imports torch, which a run that reuses every
    score never needs)."""
    return os.environ.get("RB_DEVICE") or None


benchmarks = load_benchmarks()
dataset_assets = [dataset_asset(bench) for bench in benchmarks.values()]
scores = scores_asset(list(benchmarks))

datasets_job = define_asset_job("materialize_datasets", selection=AssetSelection.groups("datasets"))
score_model_job = define_asset_job(
    "score_model", selection=AssetSelection.assets(scores), executor_def=scoring_executor()
)
warehouse_job = define_asset_job("build_warehouse", selection=AssetSelection.assets(warehouse))

defs = Definitions(
    assets=[*dataset_assets, scores, warehouse, hub_dataset, report],
    jobs=[datasets_job, score_model_job, warehouse_job, score_new_model, audit_model_job],
    sensors=[model_catalog_sensor, added_model_sensor(score_model_job), warehouse_sensor],
    resources={"scoring": ScoringResource(device=scoring_device())},
)
