"""Step-level data (sources/formats/prmbench.py and processbench.py, sources/steps.py): hand-made rows in the
shapes of PRMBench and ProcessBench become examples, one solution response, `step_solutions` and `steps`
with the labels each benchmark gives; bad rows are quarantined naming the field; the checks count error
steps past the end; and the full PRMBench copy gives upstream's item counts."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from rb_pipeline.catalog.entries import Benchmark, load_benchmarks
from rb_pipeline.core.steps import text_steps
from rb_pipeline.sources.normalize import normalize
from rb_pipeline.sources.steps import run_step_checks, step_tables
from tests.conftest import MIRROR


def prmbench_row(classification: str, idx: str, steps: list[str], error_steps: list[int]) -> dict:
    """A hand-made row in PRMBench's shape (its originals: the steps without the last one)."""
    return {
        "idx": idx,
        "classification": classification,
        "original_question": f"original question {idx}",
        "original_process": steps[:-1],
        "modified_question": f"question {idx}",
        "modified_process": steps,
        "modified_steps": error_steps,
        "error_steps": error_steps,
        "reason": "hand-made",
        "question": f"question {idx}",
    }


def write_jsonl(path: Path, rows: list[dict]) -> Path:
    path.write_text("".join(json.dumps(row) + "\n" for row in rows), encoding="utf-8")
    return path


def step_benchmark(name: str, format: str, path: Path, subsets: list[str], **steps: object) -> Benchmark:
    return Benchmark(
        benchmark=name,
        title=name,
        kind="steps",
        local=({"format": format, "path": str(path)},),
        steps=steps,
        subsets={subset: {} for subset in subsets},
    )


def test_prmbench_rows(tmp_path, rb_home):
    rows = [
        prmbench_row("redundency", "p_0", ["a", "b", "c"], [3]),
        prmbench_row("circular", "p_0", ["a", "b"], [2, 4]),  # step 4 is past the end
        prmbench_row("circular", "p_1", ["a", "b"], [3]),  # only past the end
        prmbench_row("circular", "p_0", ["x"], [1]),  # (classification, idx) again: quarantined
        prmbench_row("multi_solutions", "p_2", ["m", "n"], []),
        {**prmbench_row("circular", "p_3", ["a"], [1]), "error_steps": ["1"]},  # wrong type
    ]
    bench = step_benchmark(
        "hm-prmbench",
        "prmbench",
        write_jsonl(tmp_path / "rows.jsonl", rows),
        ["redundency", "circular", "multi_solutions", "correct"],
        rule="prmbench",
        threshold=0.5,
    )
    data = normalize(bench)
    # the redundency row also yields the clean item built from its originals (upstream task.py:16-56)
    assert data.examples["example_id"].to_list() == [
        "correct_p_0",
        "redundency_p_0",
        "circular_p_0",
        "circular_p_1",
        "multi_solutions_p_2",
    ]
    assert data.examples["subset"].to_list()[:2] == ["correct", "redundency"]
    assert [r.split(" (")[0] for r in data.rejects["reason"].to_list()] == [
        "duplicate example_id 'circular_p_0'",
        "error_steps: expected a list of 1-based step numbers, got ['1']",
    ]
    assert text_steps(data.responses["text"][1]) == ["a", "b", "c"]
    tables = step_tables(bench, data)
    solutions = {row["example_id"]: row for row in tables.solutions.iter_rows(named=True)}
    assert solutions["correct_p_0"] | {"response_id": None} == {
        "benchmark": "hm-prmbench",
        "subset": "correct",
        "example_id": "correct_p_0",
        "response_id": None,
        "n_steps": 2,
        "first_error": -1,
        "error_steps": [],
        "error_steps_past_end": 0,
    }
    assert (solutions["circular_p_0"]["first_error"], solutions["circular_p_0"]["error_steps_past_end"]) == (
        1,
        1,
    )
    assert (solutions["circular_p_1"]["first_error"], solutions["circular_p_1"]["error_steps_past_end"]) == (
        -1,
        1,
    )
    labels = tables.steps.filter(tables.steps["example_id"] == "redundency_p_0")["label"].to_list()
    assert labels == ["correct", "correct", "error"]
    passed, summary, metadata = run_step_checks(tables)
    # counted and shown, not blocking: upstream ignores such steps
    assert passed and metadata["error_steps_within_solution"] == 2 and metadata["past_end_only"] == 1
    assert summary.startswith("2 solutions naming an error step past their last step")


def test_processbench_rows(tmp_path, rb_home):
    rows = [
        {
            "id": "gsm8k-0",
            "generator": "g",
            "problem": "q0",
            "steps": ["a", "b", "c"],
            "final_answer_correct": False,
            "label": 1,
        },
        {
            "id": "gsm8k-1",
            "generator": "g",
            "problem": "q1",
            "steps": ["a", "b"],
            "final_answer_correct": True,
            "label": -1,
        },
        {
            "id": "gsm8k-2",
            "generator": "g",
            "problem": "q2",
            "steps": ["a"],
            "final_answer_correct": False,
            "label": 1,
        },
    ]
    bench = step_benchmark(
        "hm-processbench",
        "processbench",
        write_jsonl(tmp_path / "gsm8k.jsonl", rows),
        ["gsm8k"],
        rule="processbench",
        threshold_from="gsm8k",
    )
    data = normalize(bench)
    assert data.rejects["reason"].to_list() == ["label: 1 names no step of the 1 steps (-1: none wrong)"]
    tables = step_tables(bench, data)
    assert tables.solutions["first_error"].to_list() == [1, -1]
    assert tables.solutions["error_steps"].to_list() == [None, None]  # only the earliest is known
    # ProcessBench labels the steps before its earliest wrong one correct, and knows nothing after it
    assert tables.steps["label"].to_list() == ["correct", "error", None, "correct", "correct"]


def test_a_step_benchmark_needs_its_steps_block():
    with pytest.raises(ValueError, match="a benchmark of kind `steps` needs a `steps` block"):
        Benchmark(benchmark="x", title="x", kind="steps", local=({"format": "prmbench", "path": "x"},))
    with pytest.raises(ValueError, match=r"steps: names undeclared subsets \['nope'\]"):
        step_benchmark("x", "prmbench", Path("x"), ["a"], rule="prmbench", threshold=0.5, f1_only=["nope"])


@pytest.mark.mirror
def test_full_prmbench_copy(rb_home, monkeypatch):
    # ../shared/data/README.md: 6,216 rows; upstream's dedup drops 5 multi_solutions repeats (6,211)
    # and adds 758 clean items; 100 rows name an error step past the end, 16 only such steps
    monkeypatch.setenv("RB_MIRROR", str(MIRROR))
    monkeypatch.delenv("RB_SOURCE", raising=False)  # the tests' default is the shipped samples
    bench = load_benchmarks()["prmbench"]
    data = normalize(bench)
    assert (data.source_rows, data.examples.height, data.rejects.height) == (6216, 6969, 5)
    counts = dict(data.examples.group_by("subset").len().iter_rows())
    assert counts == {name: subset.expected_rows for name, subset in bench.subsets.items()} | {
        "multi_solutions": 160
    }
    _, _, metadata = run_step_checks(step_tables(bench, data))
    assert (metadata["error_steps_within_solution"], metadata["past_end_only"]) == (100, 16)
