"""ProcessBench offline, end to end on hand-made rows in its shape (its data is Hub-only): normalized with
its step tables, scored by a tiny PRM twin through the engine, and scored in SQL; the numbers equal
ProcessBench's rule transcribed in Python (run_eval.py:112-129; the threshold with the best F1 on the
first subset, paper §4.1) over the very step scores the run stored."""

from __future__ import annotations

import json

import pytest

from rb_pipeline.catalog.entries import Benchmark, ModelEntry
from rb_pipeline.core.settings import ScorerSettings
from rb_pipeline.engine.evaluation import evaluate
from rb_pipeline.models.tiny_models import build_tiny_prm
from rb_pipeline.sources.datasets import materialize_benchmark
from rb_pipeline.warehouse.views import build_warehouse, query

WORDS = ["add", "the", "two", "numbers", "then", "divide", "by", "three", "so", "x", "is", "4"]


def hand_made_rows(subset: str, n: int) -> list[dict]:
    """n hand-made solutions of 1 to 5 steps, labels cycling through -1 and each step."""
    rows = []
    for i in range(n):
        steps = [" ".join(WORDS[(i + k) % len(WORDS) : (i + k) % len(WORDS) + 4]) for k in range(1 + i % 5)]
        label = -1 if i % 3 == 0 else i % len(steps)
        rows.append(
            {"id": f"{subset}-{i}", "generator": "hand-made", "problem": f"problem {i} of {subset}",
             "steps": steps, "final_answer_correct": label == -1, "label": label}
        )  # fmt: skip
    return rows


def predicted(scores: list[float | None], tau: float) -> int:
    """run_eval.py's prediction for a PRM: the first step not judged correct (score <= tau), else -1."""
    return next((i for i, score in enumerate(scores) if score is not None and score <= tau), -1)


def subset_f1(solutions: list[tuple[int, list]], tau: float) -> tuple[float, float, float]:
    right = [(label, predicted(scores, tau) == label) for label, scores in solutions]
    acc_err = sum(ok for label, ok in right if label != -1) / sum(1 for label, _ in right if label != -1)
    acc_cor = sum(ok for label, ok in right if label == -1) / sum(1 for label, _ in right if label == -1)
    f1 = 2 * acc_err * acc_cor / (acc_err + acc_cor) if acc_err + acc_cor else 0.0
    return acc_err, acc_cor, f1


def test_processbench_offline_on_hand_made_rows(rb_home, tmp_path):
    local = []
    for subset, n in (("easy", 12), ("hard", 9)):
        path = tmp_path / f"{subset}.jsonl"
        path.write_text("".join(json.dumps(row) + "\n" for row in hand_made_rows(subset, n)))
        local.append({"format": "processbench", "path": str(path), "subset": subset})
    bench = Benchmark(
        benchmark="hm-processbench",
        title="hand-made ProcessBench rows",
        kind="steps",
        local=local,
        steps={"rule": "processbench", "threshold_from": "easy"},
        subsets={"easy": {"expected_rows": 12}, "hard": {"expected_rows": 9}},
    )
    _, verdicts = materialize_benchmark(bench)
    assert all(v.passed for v in verdicts) and len(verdicts) == 3  # examples, responses, steps
    texts = [step for row in hand_made_rows("easy", 12) for step in row["steps"]]
    model = build_tiny_prm(rb_home / "tiny-prm", "causal-lm", texts=texts, seed=1)
    entry = ModelEntry(
        id="tiny-prm",
        source=str(model),
        type="prm",
        dtype="float32",
        prm={"head": "causal-lm", "step_tag": " ки", "good_token": "+", "bad_token": "-"},
    )
    evaluation = evaluate(
        entry, {bench.benchmark: bench}, ScorerSettings(dtype="float32", batch_size=4), "cpu"
    )
    assert evaluation.scored_benchmarks == ["hm-processbench"] and evaluation.run.n_scored == 21
    build_warehouse({bench.benchmark: bench})

    steps = query("select subset, example_id, step, first_error, score from prm_step_scores order by all")
    solutions: dict[str, dict[str, tuple[int, list]]] = {}
    for subset, example_id, _, label, score in steps.iter_rows():
        solutions.setdefault(subset, {}).setdefault(example_id, (label, []))[1].append(score)
    easy = list(solutions["easy"].values())
    candidates = sorted(
        {s for _, scores in easy for s in scores} | {min(s for _, sc in easy for s in sc) - 1}
    )
    tau = max(candidates, key=lambda t: (subset_f1(easy, t)[2], -t))  # best F1, then the smaller tau
    got = query("select subset, threshold, acc_err, acc_cor, f1 from prm_processbench_scores order by subset")
    for subset, threshold, acc_err, acc_cor, f1 in got.iter_rows():
        assert threshold == pytest.approx(tau)
        expected = subset_f1(list(solutions[subset].values()), tau)
        assert (acc_err, acc_cor, f1) == pytest.approx(expected), subset
    overall = query("select hm_processbench, hm_processbench_threshold from prm_leaderboard").row(0)
    assert overall == pytest.approx((sum(row[4] for row in got.iter_rows()) / 2, tau))
