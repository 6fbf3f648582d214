"""A scoring process killed with SIGKILL mid-run resumes: nothing is scored twice, no file is torn."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import polars as pl

from rb_pipeline.catalog import ModelEntry
from rb_pipeline.lake import scores_dir
from rb_pipeline.scoring import ScorerSettings, score_model
from tests.test_scoring import hand_made_frames

REPO = Path(__file__).resolve().parents[1]
# The child scores slowly (a sleep per batch of 2, a shard per batch) and logs every response it scores.
CHILD = """
import sys, time
from rb_pipeline.catalog import ModelEntry
from rb_pipeline.scoring import ScorerSettings, score_model
from rb_pipeline.scorers.classifier import ClassifierScorer
from tests.test_scoring import hand_made_frames

real = ClassifierScorer.score
def slow(self, batch):
    time.sleep(0.4)
    with open(sys.argv[2], "a") as log:
        log.write("".join(item.response_id + "\\n" for item in batch))
    return real(self, batch)
ClassifierScorer.score = slow
examples, responses = hand_made_frames()
entry = ModelEntry(id="test/tiny", source=sys.argv[1])
score_model(entry, responses, examples, ScorerSettings(max_length=256, batch_size=2), ["hm"],
            device="cpu", shard_rows=2, log=lambda _: None)
"""


def test_sigkill_then_resume_scores_each_response_once(rb_home, tiny_classifier, tmp_path):
    log = tmp_path / "scored.txt"
    child = subprocess.Popen(
        [sys.executable, "-c", CHILD, str(tiny_classifier), str(log)], cwd=REPO, env=os.environ.copy()
    )
    model_dir = scores_dir("test/tiny")
    deadline = time.time() + 120
    while len(list(model_dir.glob("run=*/part-*.parquet"))) < 3:
        assert child.poll() is None, "the child finished before it could be killed"
        assert time.time() < deadline
        time.sleep(0.05)
    child.send_signal(signal.SIGKILL)
    child.wait()
    before = log.read_text().split()
    shards = list(model_dir.glob("run=*/*.parquet"))
    flushed = pl.read_parquet(shards)  # every visible file is whole
    killed_run = pl.read_parquet(next((rb_home / "lake" / "runs").glob("*.parquet")))
    assert killed_run["status"].to_list() == ["running"]  # never marked complete: views ignore it

    examples, responses = hand_made_frames()
    entry = ModelEntry(id="test/tiny", source=str(tiny_classifier))
    resumed = score_model(
        entry,
        responses,
        examples,
        ScorerSettings(max_length=256, batch_size=2),
        ["hm"],
        device="cpu",
        log=lambda _: None,
    )
    assert resumed.n_reused == flushed.height
    assert resumed.n_scored == resumed.n_responses - flushed.height
    # responses scored before the kill but not yet flushed are scored again; flushed ones never
    assert set(flushed["response_id"]) <= set(before)
    final = pl.read_parquet(list(scores_dir("test/tiny", resumed.run_id).glob("*.parquet")))
    assert final["response_id"].n_unique() == final.height == resumed.n_responses
