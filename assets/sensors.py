"""Keep the model partitions in step with catalog/models.yaml and $RB_HOME/models.yaml."""

from dagster import SensorEvaluationContext, SensorResult, SkipReason, sensor

from assets.partitions import models_partitions
from rb_pipeline.catalog.entries import load_models
from rb_pipeline.core.paths import encode_model_id


@sensor(minimum_interval_seconds=30, description="Adds a model partition for every new model entry.")
def model_catalog_sensor(context: SensorEvaluationContext):
    declared = {encode_model_id(model_id) for model_id in load_models()}
    existing = set(context.instance.get_dynamic_partitions(models_partitions.name))
    new = sorted(declared - existing)
    orphaned = sorted(existing - declared)
    if orphaned:  # never removed: a partition's scores stay queryable; one added in the UI records its
        context.log.info(f"partitions without a model entry (kept): {orphaned}")  # entry on its first run
    if not new:
        return SkipReason(f"all {len(declared)} models have partitions")
    return SensorResult(dynamic_partitions_requests=[models_partitions.build_add_request(new)])
