"""Races between real processes: registrations, Dagster instance cold starts, the same model scored twice
at once. Each test starts its processes together and checks that nothing was lost or done twice."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import polars as pl
import yaml

from rb_pipeline.core.lake import lake_dir, scores_dir
from tests.hand_made import SLOW_SCORING_CHILD

REPO = Path(__file__).resolve().parents[2]
REGISTER = """
import sys
from rb_pipeline.catalog.entries import ModelEntry, register_model
for n in range(int(sys.argv[2])):
    register_model(ModelEntry(id=f"race/p{sys.argv[1]}-m{n}", source=f"/nowhere/{n}"))
"""
COLD_START = """
from assets.launch import _instance
_instance().get_runs()
"""


def start_all(scripts: list[list[str]], env: dict | None = None) -> list[subprocess.CompletedProcess]:
    """Start every `python -c` command at once, then wait for all; return their results."""
    env = env or os.environ.copy()
    processes = [
        subprocess.Popen(
            [sys.executable, "-c", *args], cwd=REPO, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT
        )
        for args in scripts
    ]
    outputs = [process.communicate(timeout=300)[0].decode() for process in processes]
    return [
        subprocess.CompletedProcess(p.args, p.returncode, out)
        for p, out in zip(processes, outputs, strict=True)
    ]


def test_concurrent_registrations_lose_nothing(rb_home):
    processes, each = 4, 30
    done = start_all([[REGISTER, str(p), str(each)] for p in range(processes)])
    assert [d.returncode for d in done] == [0] * processes, [d.stdout[-1000:] for d in done]
    registered = yaml.safe_load((rb_home / "models.yaml").read_text())["models"]
    ids = [m["id"] for m in registered]
    # 4 x 30 = 120 distinct ids, each once (unlocked, 124 of 300 were lost)
    assert len(ids) == len(set(ids)) == processes * each
    assert not [p.name for p in rb_home.iterdir() if p.name.endswith(".tmp")]


def test_concurrent_cold_starts_initialize_the_instance_once(tmp_path):
    """Five processes open a fresh Dagster instance at once, twice (unlocked, 9 of 18 such processes
    failed: `UNIQUE constraint failed: alembic_version`, `more than one head present`)."""
    for attempt in range(2):
        home = tmp_path / f"home{attempt}"
        env = os.environ | {"RB_HOME": str(home), "DAGSTER_HOME": str(home / "dagster")}
        done = start_all([[COLD_START]] * 5, env)
        assert [d.returncode for d in done] == [0] * 5, [d.stdout[-1500:] for d in done if d.returncode]


def test_same_model_scored_twice_at_once_scores_each_response_once(rb_home, tiny_classifier, tmp_path):
    """Two runs of one model with the same settings, started together: one scores, the other waits for
    it and reuses everything; every response is scored and stored exactly once."""
    logs = [tmp_path / f"scored-{n}.txt" for n in range(2)]
    done = start_all([[SLOW_SCORING_CHILD, str(tiny_classifier), str(log), "2048", "3600"] for log in logs])
    assert [d.returncode for d in done] == [0, 0], [d.stdout[-1500:] for d in done]
    scored = [line for log in logs if log.exists() for line in log.read_text().split()]
    runs = pl.read_parquet(lake_dir("runs")).sort("n_scored")
    assert runs["status"].to_list() == ["complete", "complete"]
    n = runs["n_responses"][0]  # 22 distinct responses in the hand-made frames
    assert runs.select("n_scored", "n_reused").rows() == [(0, n), (n, 0)]
    assert len(scored) == len(set(scored)) == n  # no response went through the model twice
    stored = pl.read_parquet(list(scores_dir("test/tiny").glob("run=*/*.parquet")))
    assert stored["response_id"].n_unique() == stored.height == n
