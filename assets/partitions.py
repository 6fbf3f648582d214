"""Model partitions: one dynamic partition per model, keyed by its encoded id.

A partition key is `rb_pipeline.core.paths.encode_model_id(model id)`, `/` written as `--`:
- a Hub id `org/name` is the key `org--name`;
- a local model folder is identified by its absolute path, so `/data/models/my-rm` is the key
  `--data--models--my-rm` (the leading `--` is the leading `/`). A key that does not decode to an
  absolute path is a Hub id or the id of a catalog entry.
"Add partition" in the UI takes a key in this form (the model catalog sensor adds the same keys for
every catalog entry); a new model's run config then sets what differs from the entry's defaults
(`assets.scores.ScoreConfig`) and its first run records the entry in `$RB_HOME/models.yaml`.
"""

from dagster import DynamicPartitionsDefinition

from rb_pipeline.core.paths import decode_model_key

models_partitions = DynamicPartitionsDefinition(name="models")


def partition_model_id(key: str) -> str:
    """The model id of a partition key (see the module docstring); refuses a key with a raw `/`,
    which would name the same model as its encoded twin."""
    if "/" in key:
        raise ValueError(
            f"partition key {key!r}: write each '/' as '--' (org/name -> org--name; "
            "a local folder /data/my-rm -> --data--my-rm)"
        )
    return decode_model_key(key)
