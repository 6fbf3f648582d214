"""A scoring process killed with SIGKILL mid-run resumes: nothing is scored twice, no file is torn, and
the dead run is marked failed by the next one."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import polars as pl
import pytest

from rb_pipeline.catalog.entries import ModelEntry
from rb_pipeline.core.lake import lake_dir, scores_dir
from rb_pipeline.core.settings import ScorerSettings
from rb_pipeline.engine.scoring import score_model
from tests.hand_made import SLOW_SCORING_CHILD, hand_made_frames

REPO = Path(__file__).resolve().parents[2]


def kill_after_shards(model: Path, log: Path, shards: int, shard_rows: int, flush_seconds: float) -> None:
    """Start the slow child, SIGKILL it once `shards` shards are in the lake."""
    child = subprocess.Popen(
        [sys.executable, "-c", SLOW_SCORING_CHILD, str(model), str(log), str(shard_rows), str(flush_seconds)],
        cwd=REPO,
        env=os.environ.copy(),
    )
    model_dir = scores_dir("test/tiny")
    deadline = time.time() + 120
    while len(list(model_dir.glob("run=*/part-*.parquet"))) < shards:
        assert child.poll() is None, "the child finished before it could be killed"
        assert time.time() < deadline
        time.sleep(0.05)
    child.send_signal(signal.SIGKILL)
    child.wait()


def resume(model: Path):
    examples, responses = hand_made_frames()
    entry = ModelEntry(id="test/tiny", source=str(model))
    settings = ScorerSettings(max_length=256, batch_size=2)
    return score_model(entry, responses, examples, settings, ["hm"], device="cpu", log=lambda _: None)


@pytest.mark.parametrize(
    ("shard_rows", "flush_seconds", "shards"),
    [(2, 3600.0, 3), (2048, 0.5, 1)],  # flushed by rows; flushed by time (2048 rows are never reached)
    ids=["rows", "seconds"],
)
def test_sigkill_then_resume_scores_each_response_once(
    rb_home, tiny_classifier, tmp_path, shard_rows, flush_seconds, shards
):
    log = tmp_path / "scored.txt"
    kill_after_shards(tiny_classifier, log, shards, shard_rows, flush_seconds)
    before = log.read_text().split()
    flushed = pl.read_parquet(list(scores_dir("test/tiny").glob("run=*/*.parquet")))  # every file is whole
    assert flushed.height >= 2 * shards
    killed_run = pl.read_parquet(lake_dir("runs"))
    assert killed_run["status"].to_list() == ["running"]  # never marked complete: views ignore it

    resumed = resume(tiny_classifier)
    assert resumed.n_reused == flushed.height
    assert resumed.n_scored == resumed.n_responses - flushed.height
    # responses scored before the kill but not yet flushed are scored again; flushed ones never
    assert set(flushed["response_id"]) <= set(before)
    # each response is stored once, over the two runs: the killed one's shards and the resumed one's
    stored = pl.read_parquet(list(scores_dir("test/tiny").glob("run=*/*.parquet")))
    assert stored["response_id"].n_unique() == stored.height == resumed.n_responses
    # the resumed run found the dead one (its pid is gone) and marked it failed
    runs = dict(pl.read_parquet(lake_dir("runs")).select("run_id", "status").iter_rows())
    assert sorted(runs.values()) == ["complete", "failed"] and runs[resumed.run_id] == "complete"
