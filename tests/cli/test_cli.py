"""Tier 4: the CLI end to end in a fresh RB_HOME and DAGSTER_HOME (real Dagster instance, real DuckDB)."""

from __future__ import annotations

import csv
import io
import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import polars as pl
import pytest

from rb_pipeline.cli import COVERAGE_WIDTH

REPO = Path(__file__).resolve().parents[2]


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


@pytest.mark.slow(minutes=4)  # the file's CLI runs together
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
    # the leaderboard row printed by the demo is the one in the warehouse (its coverage text cut short)
    assert row["coverage"][:COVERAGE_WIDTH] in demo.stdout
    # and beside it each section's score on the sample rows, as section_scores has it
    sections = json.loads(
        run_cli(
            "sql", "select benchmark, section, partial_score from section_scores", "--format", "json", env=env
        ).stdout
    )
    assert sections and all(f"{s['partial_score']:.4f}" in demo.stdout for s in sections)
    # which sections the samples reach, worked out from the catalog and the shipped sample files alone:
    # every section holding a subset that has sample rows
    assert {(s["benchmark"], s["section"]) for s in sections} == sections_of_the_samples()


def sections_of_the_samples() -> set[tuple[str, str]]:
    """(benchmark, section) of every catalog section with a subset that the shipped samples hold rows of."""
    from rb_pipeline.catalog.entries import load_benchmarks
    from rb_pipeline.sources.normalize import normalize

    reached = set()
    with pytest.MonkeyPatch.context() as patch:
        patch.delenv("RB_MIRROR", raising=False)
        patch.setenv("RB_SOURCE", "sample")
        for name, bench in load_benchmarks().items():
            if not bench.local:
                continue  # Hub-only: no sample
            for subset in normalize(bench).examples["subset"].unique():
                section = bench.all_subsets[subset].section
                if section is not None and bench.weight_of(subset) > 0:
                    reached.add((name, section))
    return reached


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
    local_id = str(tiny_classifier.resolve())  # a local folder's id is its path (as in the UI)
    assert local_id in result.stdout
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
    assert "read-only" in assert_one_line_failure(write, "sql")
    unknown = run_cli("score", "--model", "x/y", "--benchmark", "nope", env=env, check=False)
    assert "unknown benchmark" in assert_one_line_failure(unknown)


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


# ---------------------------------------------------------------- where the data comes from


def runs_of(env: dict, model: str) -> list[dict]:
    """The runs of the model registered under `model` (a local folder's id is its path)."""
    sql = f"select data_sources, n_examples from runs where model = '{model}' order by started_at"
    return json.loads(run_cli("sql", sql, "--format", "json", env=env).stdout)


@pytest.mark.slow
def test_score_reads_the_full_data_by_default_and_records_its_source(tmp_path, tiny_classifier):
    """A benchmark with a Hub source and a local one: offline with neither a mirror nor a snapshot it
    is a one-line error; a snapshot in the lake (downloaded once) is read as `hub@repo@revision`; a
    mirror holding the file wins. Each run records its source and examples."""
    home = tmp_path / "home"
    catalog = home / "catalog" / "benchmarks"
    catalog.mkdir(parents=True)
    (catalog / "tiny-full.yaml").write_text(
        "benchmark: tiny-full\ntitle: Tiny full\nkind: preference\n"
        "hub: {repo: test-org/tiny-prefs, split: test, revision: abc123, format: preference}\n"
        "local:\n  - {format: preference, path: tiny/prefs.jsonl}\n"
    )
    env = os.environ | {"RB_HOME": str(home), "DAGSTER_HOME": str(home / "dagster"), "HF_HUB_OFFLINE": "1"}
    for name in ("RB_SOURCE", "RB_MIRROR"):
        env.pop(name, None)
    score = ("score", "--model", str(tiny_classifier), "--benchmark", "tiny-full", "--max-length", "64")
    offline = run_cli(*score, env=env, check=False)
    error = assert_one_line_failure(offline)
    assert error == (
        "rb-pipeline: error: tiny-full: RB_MIRROR is not set and the Hub is offline (HF_HUB_OFFLINE=1):"
        " set RB_MIRROR or go online"
    )
    prefs = [{"prompt": f"{n}+{n}?", "chosen": str(2 * n), "rejected": str(2 * n + 1)} for n in range(3)]
    snapshot = home / "lake" / "sources" / "tiny-full" / "test@abc123.parquet"
    snapshot.parent.mkdir(parents=True)
    pl.DataFrame(prefs).write_parquet(snapshot)
    run_cli(*score, env=env)
    mirror = tmp_path / "mirror"
    (mirror / "tiny").mkdir(parents=True)
    (mirror / "tiny" / "prefs.jsonl").write_text("".join(json.dumps(row) + "\n" for row in prefs[:2]))
    run_cli(*score, env=env | {"RB_MIRROR": str(mirror)})
    runs = runs_of(env, str(tiny_classifier.resolve()))
    assert runs == [
        {
            "data_sources": [
                {"benchmark": "tiny-full", "source": "hub@test-org/tiny-prefs@abc123", "examples": 3}
            ],
            "n_examples": 3,
        },
        {"data_sources": [{"benchmark": "tiny-full", "source": "mirror", "examples": 2}], "n_examples": 2},
    ]
    # nested columns are JSON text in CSV and in the table
    table = run_cli("sql", "select data_sources from runs order by started_at", env=env).stdout
    assert '[{"benchmark": "tiny-full", "source": "mirror", "examples": 2}]' in table
    csv_out = run_cli(
        "sql", "select data_sources, n_examples from runs order by started_at", "--format", "csv", env=env
    )
    cells = list(csv.DictReader(io.StringIO(csv_out.stdout)))
    assert [json.loads(c["data_sources"])[0]["source"] for c in cells] == [
        "hub@test-org/tiny-prefs@abc123",
        "mirror",
    ]
    assert [c["n_examples"] for c in cells] == ["3", "2"]


@pytest.mark.slow
def test_sample_flag_scores_the_shipped_samples(tmp_path, tiny_classifier):
    home = tmp_path / "home"
    env = os.environ | {"RB_HOME": str(home), "DAGSTER_HOME": str(home / "dagster"), "HF_HUB_OFFLINE": "1"}
    env.pop("RB_SOURCE", None)
    run_cli(
        "score",
        "--model",
        str(tiny_classifier),
        "--benchmark",
        "judgebench",
        "--sample",
        "--max-length",
        "256",
        env=env,
    )
    # the shipped JudgeBench sample: 2 files x 4 pairs
    assert runs_of(env, str(tiny_classifier.resolve())) == [
        {"data_sources": [{"benchmark": "judgebench", "source": "sample", "examples": 8}], "n_examples": 8}
    ]


# ---------------------------------------------------------------- one-line failures


def assert_one_line_failure(result: subprocess.CompletedProcess, command: str = "score") -> str:
    """Exit code 2; stderr is exactly `rb-pipeline: error: ...` and `rb-pipeline: log: PATH`; the log
    holds the traceback, the console none. Returns the error line."""
    assert result.returncode == 2, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 2, result.stderr
    error, log = lines
    assert error.startswith("rb-pipeline: error: ") and log.startswith("rb-pipeline: log: ")
    assert "Traceback" not in result.stderr + result.stdout
    path = Path(log.removeprefix("rb-pipeline: log: "))
    assert path.is_file() and path.parent.name == "logs" and path.name.endswith(f"-{command}.log")
    assert "Traceback (most recent call last)" in path.read_text()
    return error


@pytest.fixture
def fail_env(tmp_path) -> dict:
    """A fresh lake, offline, and a one-pair preference file to score."""
    home = tmp_path / "home"
    env = os.environ | {"RB_HOME": str(home), "DAGSTER_HOME": str(home / "dagster"), "HF_HUB_OFFLINE": "1"}
    env.pop("RB_MIRROR", None)
    prefs = tmp_path / "prefs.jsonl"
    prefs.write_text(json.dumps({"prompt": "2+2?", "chosen": "4", "rejected": "5"}) + "\n")
    return env | {"PREFS": str(prefs)}


def broken_copy(tiny_classifier: Path, tmp_path: Path, name: str, config: str) -> Path:
    folder = tmp_path / name
    shutil.copytree(tiny_classifier, folder)
    (folder / "config.json").write_text(config)
    return folder


@pytest.mark.slow
def test_missing_model_folder_is_one_line(fail_env, tmp_path):
    missing = tmp_path / "no-such-model"
    result = run_cli(
        "score", "--model", str(missing), "--dataset", fail_env["PREFS"], env=fail_env, check=False
    )
    assert assert_one_line_failure(result) == (
        f"rb-pipeline: error: model {missing}: no such folder: give an existing model folder or a Hub id ORG/NAME"
    )


@pytest.mark.slow
def test_corrupt_model_folder_is_one_line(fail_env, tmp_path, tiny_classifier):
    folder = broken_copy(tiny_classifier, tmp_path, "corrupt", "{not json")
    result = run_cli(
        "score", "--model", str(folder), "--dataset", fail_env["PREFS"], env=fail_env, check=False
    )
    error = assert_one_line_failure(result)
    assert re.match(
        rf"rb-pipeline: error: model {re.escape(str(folder.resolve()))}: cannot load from {re.escape(str(folder.resolve()))}: ",
        error,
    )
    assert "config.json" in error and "check its config.json, weights and tokenizer files" in error


@pytest.mark.slow
def test_unknown_architecture_is_one_line(fail_env, tmp_path, tiny_classifier):
    config = json.loads((tiny_classifier / "config.json").read_text()) | {"model_type": "nonsense"}
    folder = broken_copy(tiny_classifier, tmp_path, "nonsense", json.dumps(config))
    result = run_cli(
        "score", "--model", str(folder), "--dataset", fail_env["PREFS"], env=fail_env, check=False
    )
    error = assert_one_line_failure(result)
    assert error.startswith(f"rb-pipeline: error: model {folder.resolve()}: cannot load from")
    assert "`nonsense`" in error


@pytest.mark.slow
def test_hub_id_while_offline_is_one_line(fail_env):
    result = run_cli(
        "score", "--model", "no-org/no-model", "--dataset", fail_env["PREFS"], env=fail_env, check=False
    )
    assert assert_one_line_failure(result) == (
        "rb-pipeline: error: model no-org/no-model: not a local folder, not in the Hub cache, and the Hub is"
        " offline (HF_HUB_OFFLINE=1): go online to download it, or give a local model folder"
    )


def test_out_of_memory_is_one_line_with_a_smaller_batch(
    rb_home, tmp_path, tiny_classifier, monkeypatch, capfd
):
    """A (simulated) torch.OutOfMemoryError inside the scorer, in an in-process CLI call."""
    import torch

    from rb_pipeline.cli import main
    from rb_pipeline.core.kinds import KINDS

    def out_of_memory(self, batch):
        raise torch.OutOfMemoryError("CUDA out of memory. Tried to allocate 2.00 GiB")

    monkeypatch.setattr(KINDS["classifier"].builder(), "score", out_of_memory)
    capfd.readouterr()
    # a catalog benchmark: in process, `assets.definitions` may be imported already (a new --dataset
    # registered now would not be in it)
    score = ["score", "--model", str(tiny_classifier), "--benchmark", "judgebench", "--sample"]
    code = main([*score, "--batch-size", "8"])
    err = capfd.readouterr().err
    assert code == 2
    error, log = err.strip().splitlines()
    assert re.fullmatch(
        rf"rb-pipeline: error: out of memory scoring model {re.escape(str(tiny_classifier.resolve()))} at batch size 8:"
        r" try --batch-size 4 or smaller \(or a smaller --max-length\)",
        error,
    ), error
    log_file = Path(log.removeprefix("rb-pipeline: log: "))
    assert log_file.parent == rb_home / "logs" and "OutOfMemoryError" in log_file.read_text()
    assert "Traceback" not in err


@pytest.mark.slow
def test_over_long_input_is_scored_not_a_crash(fail_env, tmp_path, tiny_classifier):
    """A response far past the tiny model's 1024 positions, with no --max-length: scored (truncated)."""
    prefs = tmp_path / "long.jsonl"
    prefs.write_text(json.dumps({"prompt": "Say hi.", "chosen": "hi " * 3000, "rejected": "no"}) + "\n")
    run_cli("score", "--model", str(tiny_classifier), "--dataset", str(prefs), env=fail_env)
    runs = json.loads(
        run_cli("sql", "select status, n_truncated from runs", "--format", "json", env=fail_env).stdout
    )
    assert runs == [{"status": "complete", "n_truncated": 1}]
