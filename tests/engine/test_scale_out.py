"""Scaling out: the `scoring` pool keeps concurrent model runs off each other's GPU, and the
deployment configs in `deploy/` load and validate against the installed Dagster."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import polars as pl
import pytest

REPO = Path(__file__).resolve().parents[2]
DEPLOY = REPO / "deploy"
MODELS = ("test-org/tiny-a", "test-org/tiny-b")
PARTITIONS = [model_id.replace("/", "--") for model_id in MODELS]
# Short inputs keep CPU scoring to about a second per model. The in-process executor claims the pool
# slot the same way the multiprocess one does, without a step subprocess to start while holding it.
RUN_CONFIG = {
    "execution": {"config": {"in_process": {}}},
    "ops": {"scores": {"config": {"benchmarks": ["rmb-bon"], "max_length": 64}}},
}
POOL_YAML = "concurrency:\n  pools:\n    default_limit: 1\n    granularity: op\n"
HOLDER = ("test-holder-run", "hold")  # a claim the test holds so that both runs must queue


def launch_scores_run(model_id: str, log: Path) -> subprocess.Popen:
    """`dagster asset materialize` for one model partition, in its own process (as a launched run is)."""
    dagster = Path(sys.executable).parent / "dagster"
    command = [str(dagster), "asset", "materialize", "-m", "assets.definitions", "--select", "scores"]
    command += ["--partition", model_id.replace("/", "--"), "--config-json", json.dumps(RUN_CONFIG)]
    env = os.environ | {"OMP_NUM_THREADS": "1"}  # two runs share the CPU: no thread oversubscription
    return subprocess.Popen(command, cwd=REPO, env=env, stdout=log.open("w"), stderr=subprocess.STDOUT)


def blocked_runs(instance) -> set[str]:
    """Runs with a step that Dagster reported as waiting for a `scoring` pool slot."""
    from dagster import RunsFilter

    blocked = set()
    for run in instance.get_runs(filters=RunsFilter(tags={"dagster/partition": PARTITIONS})):
        for event in instance.all_logs(run.run_id):
            if "blocked by limit for pool scoring" in (event.message or ""):
                blocked.add(run.run_id)
    return blocked


def lake_scores(model_id: str) -> pl.DataFrame:
    from rb_pipeline.core.lake import scores_dir

    files = sorted(scores_dir(model_id).glob("run=*/*.parquet"))
    return pl.read_parquet(files).select("response_id", "score").sort("response_id")


@pytest.fixture
def two_models(rb_home: Path) -> list:
    """Two tiny classifiers (different seeds) in the model catalog, rmb-bon materialized, partitions added."""
    from assets.launch import materialize_datasets
    from rb_pipeline.catalog.entries import ModelEntry, register_model
    from rb_pipeline.models.tiny_models import build_tiny_classifier

    (rb_home / "dagster" / "dagster.yaml").write_text(
        "telemetry:\n  enabled: false\nnux:\n  enabled: false\n" + POOL_YAML
    )
    entries = []
    for seed, model_id in enumerate(MODELS, start=1):
        path = build_tiny_classifier(rb_home / "models" / model_id, texts=["tokenizer text"], seed=seed)
        entry = ModelEntry(id=model_id, source=str(path), max_length=64)
        register_model(entry)
        entries.append(entry)
    materialize_datasets(["rmb-bon"])
    return entries


def test_pool_limit_serializes_concurrent_model_runs(two_models, rb_home, tmp_path, monkeypatch):
    """Two runs launched at once, pool `scoring` limited to 1 (one GPU): both wait for the slot, run one
    after the other, complete, and score exactly as each model does alone."""
    import torch
    from dagster import DagsterInstance, DagsterRunStatus, RunsFilter

    from rb_pipeline.core.lake import lake_dir, read_dataset
    from rb_pipeline.core.settings import settings_for
    from rb_pipeline.engine.scoring import score_model

    instance = DagsterInstance.get()
    instance.add_dynamic_partitions("models", PARTITIONS)
    storage = instance.event_log_storage
    storage.initialize_concurrency_limit_to_default("scoring")
    assert storage.get_concurrency_info("scoring").slot_count == 1  # from dagster.yaml's default_limit
    storage.claim_concurrency_slot("scoring", *HOLDER)
    processes = [launch_scores_run(m, tmp_path / f"run-{i}.log") for i, m in enumerate(MODELS)]
    try:
        deadline = time.time() + 60
        while len(blocked_runs(instance)) < 2:  # both runs started and both wait for the slot
            assert time.time() < deadline, "runs never blocked on the scoring pool"
            assert all(p.poll() is None for p in processes), "a run ended while the slot was held"
            time.sleep(0.5)
    finally:
        storage.free_concurrency_slot_for_step(*HOLDER)
        for process in processes:
            process.wait(timeout=120)
    logs = [(tmp_path / f"run-{i}.log").read_text() for i in range(2)]
    assert [p.returncode for p in processes] == [0, 0], "\n".join(log[-2000:] for log in logs)

    runs = instance.get_runs(filters=RunsFilter(tags={"dagster/partition": PARTITIONS}))
    assert [r.status for r in runs] == [DagsterRunStatus.SUCCESS] * 2
    lake_runs = pl.read_parquet(lake_dir("runs")).sort("started_at")
    assert lake_runs["status"].to_list() == ["complete", "complete"]
    assert sorted(lake_runs["model"]) == sorted(MODELS)
    first, second = lake_runs.iter_rows(named=True)
    assert first["ended_at"] <= second["started_at"], "scoring windows overlap under a pool limit of 1"

    # No interference: each model's scores equal a solo run of the same model in a fresh lake.
    concurrent = {m: lake_scores(m) for m in MODELS}
    responses, examples = read_dataset("responses", "rmb-bon"), read_dataset("examples", "rmb-bon")
    monkeypatch.setenv("RB_HOME", str(tmp_path / "solo"))
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # as in the runs (OMP_NUM_THREADS=1)
    for entry in two_models:
        settings = settings_for(entry, max_length=64)
        score_model(entry, responses, examples, settings, ["rmb-bon"], device="cpu", log=lambda _: None)
        solo = lake_scores(entry.id)
        assert solo["response_id"].to_list() == concurrent[entry.id]["response_id"].to_list()
        assert solo["score"].to_list() == pytest.approx(concurrent[entry.id]["score"].to_list(), abs=1e-6)
    torch.set_num_threads(threads)
    assert concurrent[MODELS[0]]["score"].to_list() != concurrent[MODELS[1]]["score"].to_list()
