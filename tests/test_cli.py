"""Tier 4: the CLI end to end in a fresh RB_HOME and DAGSTER_HOME (real Dagster instance, real DuckDB)."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]


def run_cli(*args: str, env: dict, check: bool = True) -> subprocess.CompletedProcess:
    result = subprocess.run(
        [sys.executable, "-m", "rb_pipeline.cli", *args],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    if check and result.returncode != 0:
        raise AssertionError(f"rb-pipeline {args} failed:\n{result.stdout}\n{result.stderr}")
    return result


@pytest.fixture(scope="module")
def demo_home(tmp_path_factory) -> tuple[dict, subprocess.CompletedProcess]:
    home = tmp_path_factory.mktemp("demo")
    env = os.environ | {"RB_HOME": str(home), "DAGSTER_HOME": str(home / "dagster"), "HF_HUB_OFFLINE": "1"}
    env.pop("RB_MIRROR", None)
    return env, run_cli("demo", env=env)


@pytest.mark.slow
def test_demo_prints_a_leaderboard_and_sql_returns_it(demo_home):
    env, demo = demo_home
    assert "rb-demo/tiny-classifier" in demo.stdout
    rows = json.loads(run_cli("sql", "select * from leaderboard", "--format", "json", env=env).stdout)
    assert [row["model"] for row in rows] == ["rb-demo/tiny-classifier"]
    row = rows[0]
    # the shipped samples cover no subset in full: every score stays empty, and coverage says why
    for column in (
        "chat",
        "chat_hard",
        "reasoning",
        "rmb_helpfulness_pairwise",
        "rmb_harmlessness_bon",
        "rmb",
    ):
        assert row[column] is None, column
    assert "rmb_helpfulness_pairwise: empty, missing " in row["coverage"]
    assert row["provenance"] == "computed"
    # the leaderboard row printed by the demo is the one in the warehouse
    assert "coverage" in demo.stdout and "rmb_helpfulness_pairwise: empty" in demo.stdout


@pytest.mark.slow
def test_demo_materializations_are_in_the_dagster_instance(demo_home):
    env, _ = demo_home
    code = (
        "from dagster import DagsterInstance, AssetKey;"
        "i = DagsterInstance.get();"
        "print(i.get_dynamic_partitions('models'));"
        "e = i.get_latest_materialization_event(AssetKey('scores'));"
        "print(e.dagster_event.partition, sorted(e.asset_materialization.metadata))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], env=env, cwd=REPO, capture_output=True, text=True, check=True
    )
    assert "['rb-demo--tiny-classifier']" in out.stdout
    assert (
        "rb-demo--tiny-classifier" in out.stdout
        and "leaderboard_row" in out.stdout
        and "per_subset" in out.stdout
    )


@pytest.mark.slow
def test_score_a_local_model_folder_adds_a_row(demo_home, tiny_classifier):
    env, _ = demo_home
    result = run_cli(
        "score", "--model", str(tiny_classifier), "--benchmark", "rmb-bon", "--max-length", "256", env=env
    )
    local_id = re.search(r"local/tiny-classifier-[0-9a-f]{8}", result.stdout).group()  # name + path hash
    models = json.loads(
        run_cli("sql", "select model from leaderboard order by model", "--format", "json", env=env).stdout
    )
    assert [m["model"] for m in models] == [local_id, "rb-demo/tiny-classifier"]
    runs = json.loads(
        run_cli(
            "sql",
            "select model, benchmarks, status from runs order by started_at",
            "--format",
            "json",
            env=env,
        ).stdout
    )
    assert runs[-1] == {"model": local_id, "benchmarks": ["rmb-bon"], "status": "complete"}


@pytest.mark.slow
def test_user_errors_are_one_line_and_nonzero(demo_home):
    env, _ = demo_home
    write = run_cli("sql", "drop view leaderboard", env=env, check=False)
    assert write.returncode == 2
    assert write.stderr.startswith("rb-pipeline: error:") and "read-only" in write.stderr
    assert len(write.stderr.strip().splitlines()) == 1
    unknown = run_cli("score", "--model", "x/y", "--benchmark", "nope", env=env, check=False)
    assert unknown.returncode == 2 and "unknown benchmark" in unknown.stderr
    assert len(unknown.stderr.strip().splitlines()) == 1


@pytest.mark.slow
def test_score_a_users_preference_file(demo_home, tiny_classifier, tmp_path):
    env, _ = demo_home
    hand_made = tmp_path / "my_prefs.jsonl"
    rows = [
        {"prompt": "What is 2+2?", "chosen": "4", "rejected": "5", "subset": "hand-made-a"},
        {
            "prompt": [{"role": "user", "content": "Capital of France?"}],
            "chosen": "Paris",
            "rejected": "Lyon",
            "subset": "hand-made-b",
        },
    ]
    hand_made.write_text("\n".join(json.dumps(r) for r in rows) + "\n")
    result = run_cli(
        "score", "--model", str(tiny_classifier), "--dataset", str(hand_made), "--max-length", "64", env=env
    )
    assert "my-prefs-" in result.stdout and "hand-made-a" in result.stdout  # named after the file
    accuracy = json.loads(
        run_cli(
            "sql",
            "select subset, n from subset_accuracy where benchmark like 'my-prefs-%' order by 1",
            "--format",
            "json",
            env=env,
        ).stdout
    )
    assert accuracy == [{"subset": "hand-made-a", "n": 1}, {"subset": "hand-made-b", "n": 1}]
