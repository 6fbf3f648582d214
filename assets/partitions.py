"""Model partitions: one dynamic partition per model, keyed by its encoded id (`org--name`)."""

from dagster import DynamicPartitionsDefinition

models_partitions = DynamicPartitionsDefinition(name="models")
