"""Tier 1: the code location loads, with the assets, checks, partitions and jobs users rely on."""

from __future__ import annotations

from dagster import AssetKey


def test_definitions_load_with_catalog_assets():
    from assets.definitions import defs

    graph = defs.resolve_asset_graph()
    keys = {key.to_user_string() for key in graph.get_all_asset_keys()}
    assert {
        "normalized/rewardbench",
        "normalized/rmb_pairwise",
        "normalized/rmb_bon",
        "scores",
        "warehouse",
    } <= keys
    scores = graph.get(AssetKey("scores"))
    assert scores.partitions_def.name == "models"
    assert {d.to_user_string() for d in scores.parent_keys} >= {
        "normalized/rewardbench",
        "normalized/rmb_bon",
    }
    for job in ("materialize_datasets", "score_model", "build_warehouse"):
        assert defs.resolve_job_def(job) is not None


def test_dataset_checks_are_blocking():
    from assets.definitions import defs

    specs = {
        (spec.asset_key.to_user_string(), spec.name): spec
        for assets_def in defs.resolve_asset_graph().assets_defs
        for spec in assets_def.check_specs
    }
    assert specs[("normalized/rewardbench", "examples_quality")].blocking
    assert specs[("normalized/rewardbench", "responses_quality")].blocking
    assert ("scores", "every_response_scored") in specs
    assert ("scores", "no_nan_scores") in specs


def test_workspace_and_pyproject_name_the_same_module():
    import tomllib
    from pathlib import Path

    import yaml

    root = Path(__file__).resolve().parents[2]
    workspace = yaml.safe_load((root / "workspace.yaml").read_text())
    module = workspace["load_from"][0]["python_module"]["module_name"]
    assert module == tomllib.loads((root / "pyproject.toml").read_text())["tool"]["dagster"]["module_name"]


def test_model_ids_encode_to_partition_keys():
    import pytest

    from rb_pipeline.core.paths import decode_model_key, encode_model_id

    assert encode_model_id("org/name") == "org--name"
    assert decode_model_key("org--name") == "org/name"
    with pytest.raises(ValueError, match="must not contain '--'"):
        encode_model_id("bad--name")
