"""Data-parallel scoring under torchrun (two CPU processes, gloo) through the scores asset, and a model
placed by `device_map`: both give the scores of a plain single-process run."""

from __future__ import annotations

from pathlib import Path

import polars as pl
import pytest

MODEL = "test-org/tiny-dp"


def run_scores(model_id: str) -> dict[str, pl.DataFrame]:
    """Each run's scores of a model, by run id."""
    from rb_pipeline.core.lake import scores_dir

    runs = {}
    for folder in sorted(scores_dir(model_id).glob("run=*")):
        runs[folder.name.removeprefix("run=")] = pl.read_parquet(sorted(folder.glob("*.parquet")))
    return runs


@pytest.fixture
def registered(rb_home: Path):
    from assets.launch import materialize_datasets
    from rb_pipeline.catalog.entries import ModelEntry, register_model
    from rb_pipeline.models.tiny_models import build_tiny_classifier

    path = build_tiny_classifier(rb_home / "models" / "tiny-dp", texts=["tokenizer text"], seed=5)
    entry = ModelEntry(id=MODEL, source=str(path), max_length=64)
    register_model(entry)
    materialize_datasets(["rmb-bon"])
    return entry


def test_two_processes_score_each_response_once_and_match_one(registered, rb_home, monkeypatch):
    from assets.launch import materialize_scores
    from rb_pipeline.core.lake import lake_dir, read_dataset, scores_dir
    from rb_pipeline.core.settings import settings_for
    from rb_pipeline.engine.scoring import score_model

    materialize_scores(MODEL, {"benchmarks": ["rmb-bon"], "max_length": 64, "nproc_per_node": 2})
    responses = read_dataset("responses", "rmb-bon")
    distinct = responses["response_id"].n_unique()

    ((run_id, scores),) = run_scores(MODEL).items()
    shards = sorted(p.name for p in (scores_dir(MODEL) / f"run={run_id}").glob("*.parquet"))
    assert {name.split("-")[1] for name in shards} == {"rank00", "rank01"}, shards
    assert scores.height == distinct and scores["response_id"].n_unique() == distinct  # none twice
    run = pl.read_parquet(lake_dir("runs")).row(0, named=True)
    assert (run["status"], run["n_scored"], run["n_reused"]) == ("complete", distinct, 0)
    assert run["device"] == "cpu x2 (data parallel)"

    # Re-materializing with two processes scores nothing: every score is reused.
    materialize_scores(MODEL, {"benchmarks": ["rmb-bon"], "max_length": 64, "nproc_per_node": 2})
    runs = pl.read_parquet(lake_dir("runs")).sort("started_at")
    assert runs["n_scored"].to_list() == [distinct, 0]

    # Identical to one process in a fresh lake.
    examples = read_dataset("examples", "rmb-bon")
    monkeypatch.setenv("RB_HOME", str(rb_home / "solo"))
    settings = settings_for(registered, max_length=64)
    score_model(registered, responses, examples, settings, ["rmb-bon"], device="cpu", log=lambda _: None)
    (solo,) = run_scores(MODEL).values()
    joined = solo.join(scores, on="response_id", suffix="_dp")
    assert joined.height == distinct
    assert joined["score"].to_list() == pytest.approx(joined["score_dp"].to_list(), abs=1e-5)


# The tiny GPT-2 split layer by layer: block 1 offloaded to disk, the rest on the CPU (accelerate's hooks
# move weights in as the forward pass reaches them, as between GPUs).
SPLIT_MAP = {"transformer.wte": "cpu", "transformer.wpe": "cpu", "transformer.drop": "cpu",
             "transformer.h.0": "cpu", "transformer.h.1": "disk", "transformer.ln_f": "cpu", "score": "cpu"}  # fmt: skip


@pytest.mark.parametrize("device_map", ["auto", SPLIT_MAP], ids=["auto", "split-cpu-disk"])
def test_device_map_scores_like_a_placed_model(registered, rb_home, device_map):
    """A model placed by `device_map` (one GPU's worth, or split across devices) changes no score."""
    from rb_pipeline.core.settings import ScorerSettings
    from rb_pipeline.models.loader import load_scorer

    settings = ScorerSettings(max_length=64)
    plain = load_scorer(registered, settings, "cpu")
    placed = load_scorer(registered.model_copy(update={"device_map": device_map}), settings, "cpu")
    if isinstance(device_map, dict):
        assert placed.model.hf_device_map == SPLIT_MAP
        assert any((rb_home / "offload").rglob("*")), "block 1 was not offloaded under $RB_HOME"
    assert placed.device == "cpu"
    prompts = [[{"role": "user", "content": "Which is better?"}]] * 3
    texts = ["short", "a somewhat longer answer", "the longest answer of the three, by a margin"]
    ids = ["a", "b", "c"]
    expected = [score for score, _ in plain.score(plain.encode(prompts, texts, ids))]
    got = [score for score, _ in placed.score(placed.encode(prompts, texts, ids))]
    assert got == pytest.approx(expected, abs=1e-6)
    assert len(set(expected)) == 3  # real, distinct scores
