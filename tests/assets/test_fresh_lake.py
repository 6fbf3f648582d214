"""Tier 3: the scores asset on a fresh lake builds the datasets it needs in its own run, reuses them
when their inputs are unchanged (data version), skips a benchmark whose data cannot be had with one
line, and turns a user's mistake into one line (dagster.Failure)."""

from __future__ import annotations

import json
import logging

import pytest
from dagster import AssetCheckKey, AssetKey, DagsterInstance

HAND_MADE_ROW = {"prompt": "2+2?", "chosen": "4", "rejected": "5"}  # hand-made, not benchmark data


def _score(instance: DagsterInstance, key: str, config: dict):
    from assets.definitions import defs
    from assets.launch import QUIET

    run_config = QUIET | {"ops": {"scores": {"config": config}}}
    return defs.resolve_job_def("score_model").execute_in_process(
        instance=instance, partition_key=key, run_config=run_config, raise_on_error=False
    )


def _messages(result) -> list[str]:
    """The run's log lines (the assets' own included), a step failure's error last."""
    lines = [entry.user_message for entry in DagsterInstance.get().all_logs(result.run_id)]
    failures = [e.step_failure_data.error for e in result.all_events if e.event_type_value == "STEP_FAILURE"]
    return lines + [error.to_string() for error in failures]


@pytest.mark.slow
def test_a_fresh_lake_scores_on_its_first_launch_and_reuses_unchanged_datasets(rb_home, tiny_classifier):
    from rb_pipeline.core.paths import encode_model_id
    from rb_pipeline.sources.datasets import quality_path

    instance = DagsterInstance.get()
    key = encode_model_id(str(tiny_classifier))
    instance.add_dynamic_partitions("models", [key])
    # rmb-bon has a shipped sample; reward-bench-2 is Hub-only (no sample) and the Hub is offline
    config = {"benchmarks": ["rmb-bon", "reward-bench-2"], "max_length": 64, "dtype": "float32"}
    first = _score(instance, key, config)
    assert first.success, _messages(first)[-1][-3000:]
    logged = _messages(first)
    assert any(m.startswith("normalized/rmb_bon: not materialized yet: normalizing") for m in logged)
    (skip_line,) = [m for m in logged if m.startswith("normalized/reward_bench_2 skipped: ")]
    assert "no shipped sample" in skip_line
    scores = instance.get_latest_materialization_event(AssetKey("scores")).asset_materialization
    assert "normalized/reward_bench_2: " in scores.metadata["benchmarks_skipped"].value
    assert scores.metadata["responses"].value > 0
    assert scores.metadata["datasets_reused"].value == {}  # rmb-bon was normalized in this run

    # the dataset asset normalized inside the scores run is recorded as materialized, checks included
    rmb = instance.get_latest_materialization_event(AssetKey(["normalized", "rmb_bon"]))
    version = rmb.asset_materialization.metadata["data_version"].value
    assert rmb.run_id == first.run_id and len(version) == 16
    check = instance.event_log_storage.get_latest_asset_check_execution_by_key(
        [AssetCheckKey(AssetKey(["normalized", "rmb_bon"]), "examples_quality")]
    )
    assert check  # reported on the instance
    assert instance.get_latest_materialization_event(AssetKey(["normalized", "reward_bench_2"])) is None
    written = quality_path("rmb-bon").stat().st_mtime_ns

    # a second launch with the same inputs normalizes nothing and runs no suite, and says so
    second = _score(instance, key, config)
    assert second.success
    (line,) = [m for m in _messages(second) if m.startswith("inputs unchanged")]  # one line for them all
    assert line.startswith("inputs unchanged (data version), normalization and quality suites skipped: ")
    assert f"normalized/rmb_bon ({version})" in line
    scores = instance.get_latest_materialization_event(AssetKey("scores")).asset_materialization
    assert scores.metadata["datasets_reused"].value == {"normalized/rmb_bon": version}
    assert quality_path("rmb-bon").stat().st_mtime_ns == written
    assert (
        instance.get_latest_materialization_event(AssetKey(["normalized", "rmb_bon"])).run_id == first.run_id
    )


def test_the_data_version_follows_the_inputs(rb_home, tmp_path):
    from assets.datasets import build_dataset, check_findings
    from rb_pipeline.sources.datasets import dataset_benchmark, plan_dataset

    path = tmp_path / "mine.jsonl"
    path.write_text(
        json.dumps(HAND_MADE_ROW)
        + "\n"
        + json.dumps(HAND_MADE_ROW | {"prompt": "3+3?", "chosen": "6"})
        + "\n"
    )
    bench = dataset_benchmark(path)
    log = logging.getLogger("test")
    assert plan_dataset(bench).action == "normalize"
    made = build_dataset(bench, log)
    assert made.plan.reason == "not materialized yet" and made.metadata["examples"] == 2
    again = build_dataset(bench, log)  # nothing changed: the last run's tables and check outcomes
    assert again.plan.action == "reuse" and again.plan.version == made.plan.version
    assert {c.check_name: c.passed for c in again.checks} == {c.check_name: c.passed for c in made.checks}
    assert check_findings(bench.benchmark) == []  # 2 clean pairs: nothing to report

    # one more row whose chosen equals its rejected: a new version, normalized again, one CLI line
    with path.open("a") as handle:
        handle.write(json.dumps(HAND_MADE_ROW | {"prompt": "same?", "chosen": "x", "rejected": "x"}) + "\n")
    changed = plan_dataset(bench)
    assert (changed.action, changed.reason) == ("normalize", "inputs changed")
    assert changed.version != made.plan.version
    build_dataset(bench, log)
    (line,) = [f for f in check_findings(bench.benchmark) if "no_chosen_equal_to_rejected" in f]
    assert line.startswith(
        f"normalized/{bench.benchmark.replace('-', '_')} check no_chosen_equal_to_rejected: 1 "
    )
    assert f"benchmark = '{bench.benchmark}'" in line


def test_a_mistyped_partition_is_one_line_in_the_ui(rb_home):
    instance = DagsterInstance.get()
    instance.add_dynamic_partitions("models", ["--no--such--folder", "org--never-seen"])
    for key, line in (
        ("--no--such--folder", "model '/no/such/folder': /no/such/folder: no such model folder"),
        (
            "org--never-seen",
            "model org/never-seen: not a local folder, not in the Hub cache, and the Hub is offline",
        ),
    ):
        result = _score(instance, key, {"benchmarks": ["rmb-bon"]})
        (failure,) = [e for e in result.all_events if e.event_type_value == "STEP_FAILURE"]
        error = failure.step_failure_data
        assert error.user_failure_data is not None  # a dagster.Failure: the UI shows its description
        assert error.user_failure_data.description.startswith(line)
        assert "\n" not in error.user_failure_data.description


@pytest.mark.slow
def test_score_dataset_prints_its_own_table_and_what_checks_found(rb_home, tmp_path, tiny_classifier, capsys):
    from rb_pipeline.cli import main

    path = tmp_path / "prefs.jsonl"
    rows = [
        HAND_MADE_ROW,
        HAND_MADE_ROW | {"prompt": "3+3?", "chosen": "6"},
        HAND_MADE_ROW | {"prompt": "same?", "rejected": "4"},
    ]
    path.write_text("".join(json.dumps(row) + "\n" for row in rows))  # the third: chosen equals rejected
    assert main(["score", "--model", str(tiny_classifier), "--dataset", str(path), "--max-length", "64"]) == 0
    out = capsys.readouterr().out
    name = next(line.split()[0] for line in out.splitlines() if line.startswith("normalized/prefs_"))
    assert f"{name} check no_chosen_equal_to_rejected: 1 " in out  # one line: check, count, where
    assert "select * from examples where benchmark = 'prefs-" in out
    assert "rewardbench" not in out  # no empty leaderboard: the file's own accuracy table
    (row,) = [line.split() for line in out.splitlines() if line.startswith("prefs-")]
    assert row[1:3] == ["prefs", "3"], out  # benchmark, subset (the file's stem), its 3 pairs
