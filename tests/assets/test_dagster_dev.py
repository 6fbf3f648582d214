"""Tier 4: `dagster dev` from the repo root loads the code location; the webserver serves the assets,
the model partitions and the leaderboard metadata (queried over GraphQL on 127.0.0.1)."""

from __future__ import annotations

import json

import pytest

ASSETS_QUERY = """{ assetNodes { assetKey { path } partitionKeys
  assetMaterializations(limit: 1) { metadataEntries { label ... on TableMetadataEntry { table { records } } } } } }"""


@pytest.fixture
def dagster_dev(rb_home, start_dagster_dev):
    """`dagster dev` serving a model scored through the same instance."""
    from assets.launch import materialize_datasets, materialize_scores, materialize_warehouse
    from rb_pipeline.catalog.entries import ModelEntry, register_model
    from rb_pipeline.models.tiny_models import build_tiny_classifier

    build_tiny_classifier(rb_home / "models" / "tiny", texts=["hand-made text for the tokenizer"])
    register_model(ModelEntry(id="test-org/tiny", source=str(rb_home / "models" / "tiny"), max_length=512))
    materialize_datasets()
    materialize_scores("test-org/tiny", {"benchmarks": ["rmb-bon"]})
    materialize_warehouse()
    return start_dagster_dev()


@pytest.mark.slow
def test_dagster_dev_serves_assets_partitions_and_leaderboard(dagster_dev):
    nodes = {
        "/".join(n["assetKey"]["path"]): n for n in dagster_dev.graphql(ASSETS_QUERY)["data"]["assetNodes"]
    }
    assert {"normalized/rewardbench", "normalized/rmb_bon", "scores", "warehouse"} <= set(nodes)
    assert nodes["scores"]["partitionKeys"] == ["test-org--tiny"]
    tables = {
        e["label"]: e["table"]["records"]
        for e in nodes["warehouse"]["assetMaterializations"][0]["metadataEntries"]
        if "table" in e
    }
    rows = [json.loads(record) for record in tables["leaderboard"]]  # one per model and section
    assert {row["model"] for row in rows} == {"test-org/tiny"}
    assert all(isinstance(row["score"], float) for row in rows if "score" in row)
    assert any(row["coverage"].endswith(" subsets") for row in rows)  # shipped samples: partial, said so


def test_model_catalog_sensor_adds_new_models_and_removes_none(rb_home):
    from dagster import DagsterInstance, build_sensor_context

    from assets.sensors import model_catalog_sensor
    from rb_pipeline.catalog.entries import ModelEntry, load_models, register_model

    register_model(ModelEntry(id="test-org/new-model", source="/nowhere"))
    with DagsterInstance.ephemeral() as instance:
        instance.add_dynamic_partitions("models", ["gone--model"])
        result = model_catalog_sensor(build_sensor_context(instance=instance))
        (request,) = result.dynamic_partitions_requests
        assert set(request.partition_keys) == {m.replace("/", "--") for m in load_models()}
        assert "test-org--new-model" in request.partition_keys
        assert "gone--model" not in request.partition_keys  # kept: no delete request is made
        assert len(result.dynamic_partitions_requests) == 1


def test_a_new_model_is_scored_from_its_partition_key_and_run_config(rb_home, tiny_classifier):
    """A partition added by hand (the key of a local path) plus run config is enough: the run scores the
    model and records its entry; run config overrides of a known model are recorded; mistakes name
    the run config field or the key's form."""
    import yaml
    from dagster import AssetKey, DagsterInstance

    from assets.definitions import defs
    from assets.launch import QUIET, last_metadata, materialize_datasets
    from rb_pipeline.catalog.entries import load_models, user_models_path
    from rb_pipeline.core.paths import encode_model_id

    materialize_datasets(["rmb-bon"])
    model_id = str(tiny_classifier)  # a local model's id is its absolute path
    key = encode_model_id(model_id)
    assert key.startswith("--") and key.endswith("--tiny-classifier")
    instance = DagsterInstance.get()
    instance.add_dynamic_partitions(
        "models", [key, "org/raw-slash", "--no--such--folder", "data--models--rm"]
    )
    job = defs.resolve_job_def("score_model")

    def score(partition: str, config: dict):
        run_config = QUIET | {"ops": {"scores": {"config": {"benchmarks": ["rmb-bon"], **config}}}}
        return job.execute_in_process(
            instance=instance, partition_key=partition, run_config=run_config, raise_on_error=False
        )

    def error_of(result) -> str:
        (failure,) = [e for e in result.all_events if e.event_type_value == "STEP_FAILURE"]
        return str(failure.step_failure_data.error.cause.message)

    assert score(key, {"max_length": 64, "dtype": "float32", "chat_template": "raw"}).success
    entry = load_models()[model_id]
    assert (entry.source, entry.type, entry.max_length, entry.dtype, entry.chat_template) == (
        None, "classifier", 64, "float32", "raw"
    )  # fmt: skip
    metadata = last_metadata(AssetKey("scores"))
    assert metadata["model"].value == model_id
    assert metadata["entry_recorded"].value == str(user_models_path())
    assert metadata["settings"].value["max_length"] == 64
    # the shipped rmb-bon sample (data/samples/rmb/RMB_dataset/BoN_set, counted from the raw JSON): 98
    # items, each its bon_best + loser_list: 82 responses in Harmlessness' 12 files + 235 in Helpfulness'
    # 37 = 317 listed; 23 items repeat another's prompt and with it 27 of its (prompt, answer) pairs,
    # which share one response id and are scored once: 317 - 27 = 290 responses scored
    assert metadata["responses"].value == 290

    # The recorded entry is the default next time; an unchanged run records nothing.
    assert score(key, {}).success
    assert last_metadata(AssetKey("scores"))["entry_recorded"].value == "no change"
    assert score(key, {"batch_size": 4}).success  # an override of a known model is recorded
    (recorded,) = yaml.safe_load(user_models_path().read_text())["models"]
    recorded.pop("judges", None)  # register_model writes the default `judges: []` today
    assert recorded == {
        "id": model_id,
        "chat_template": "raw",
        "dtype": "float32",
        "max_length": 64,
        "batch_size": 4,
    }

    bad_type = score(key, {"type": "reward"})
    assert not bad_type.success
    assert "run config ops.scores.config.type: unknown model type 'reward'" in error_of(bad_type)
    assert "write each '/' as '--'" in error_of(score("org/raw-slash", {}))
    assert "/no/such/folder: no such model folder" in error_of(score("--no--such--folder", {}))
    assert "neither a Hub id (org/name) nor an absolute path" in error_of(score("data--models--rm", {}))
    assert load_models()[model_id].batch_size == 4  # failed runs record nothing
    assert {"/no/such/folder", "data/models/rm"}.isdisjoint(load_models())
