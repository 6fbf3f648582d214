"""Tier 4: `dagster dev` from the repo root loads the code location; the webserver serves the assets,
the model partitions and the leaderboard metadata (queried over GraphQL on 127.0.0.1)."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
ASSETS_QUERY = """{ assetNodes { assetKey { path } partitionKeys
  assetMaterializations(limit: 1) { metadataEntries { label ... on MarkdownMetadataEntry { mdStr } } } } }"""


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def graphql(port: int, query: str) -> dict:
    request = urllib.request.Request(
        f"http://127.0.0.1:{port}/graphql",
        data=json.dumps({"query": query}).encode(),
        headers={"Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        return json.loads(response.read())


@pytest.fixture
def dagster_dev(rb_home):
    """`dagster dev` as its own process group, stopped by its PID."""
    from assets.launch import materialize_datasets, materialize_scores, materialize_warehouse
    from rb_pipeline.catalog import ModelEntry, register_model

    # A model scored through the same instance that the webserver then shows.
    from rb_pipeline.tiny_models import build_tiny_classifier

    build_tiny_classifier(rb_home / "models" / "tiny", texts=["hand-made text for the tokenizer"])
    register_model(ModelEntry(id="test-org/tiny", source=str(rb_home / "models" / "tiny"), max_length=512))
    materialize_datasets()
    materialize_scores("test-org/tiny", {"benchmarks": ["rmb-bon"]})
    materialize_warehouse()
    port = free_port()
    log = open(rb_home / "dagster-dev.log", "w")  # noqa: SIM115 (closed below)
    process = subprocess.Popen(
        [str(Path(sys.executable).parent / "dagster"), "dev", "-h", "127.0.0.1", "-p", str(port)],
        cwd=REPO,
        env=os.environ.copy(),
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    try:
        deadline = time.time() + 120
        while True:
            try:
                nodes = graphql(port, "{ assetNodes { id } }")
                if nodes.get("data", {}).get("assetNodes"):
                    break
            except OSError:
                pass
            if time.time() > deadline or process.poll() is not None:
                raise AssertionError((rb_home / "dagster-dev.log").read_text()[-3000:])
            time.sleep(1)
        yield port
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
        log.close()


@pytest.mark.slow
def test_dagster_dev_serves_assets_partitions_and_leaderboard(dagster_dev):
    nodes = {
        "/".join(n["assetKey"]["path"]): n for n in graphql(dagster_dev, ASSETS_QUERY)["data"]["assetNodes"]
    }
    assert {"normalized/rewardbench", "normalized/rmb_bon", "scores", "warehouse"} <= set(nodes)
    assert nodes["scores"]["partitionKeys"] == ["test-org--tiny"]
    warehouse_md = {
        e["label"]: e.get("mdStr") for e in nodes["warehouse"]["assetMaterializations"][0]["metadataEntries"]
    }
    assert "test-org/tiny" in warehouse_md["leaderboard"]
    assert "rmb_helpfulness_bon" in warehouse_md["leaderboard"]


def test_model_catalog_sensor_adds_new_models_and_removes_none(rb_home):
    from dagster import DagsterInstance, build_sensor_context

    from assets.sensors import model_catalog_sensor
    from rb_pipeline.catalog import ModelEntry, load_models, register_model

    register_model(ModelEntry(id="test-org/new-model", source="/nowhere"))
    with DagsterInstance.ephemeral() as instance:
        instance.add_dynamic_partitions("models", ["gone--model"])
        result = model_catalog_sensor(build_sensor_context(instance=instance))
        (request,) = result.dynamic_partitions_requests
        assert set(request.partition_keys) == {m.replace("/", "--") for m in load_models()}
        assert "test-org--new-model" in request.partition_keys
        assert "gone--model" not in request.partition_keys  # kept: no delete request is made
        assert len(result.dynamic_partitions_requests) == 1
