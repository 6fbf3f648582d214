"""RewardBench 2's two scoring rules in the views, on hand-made rows (not benchmark data): the best-of-4
top-score share (1/k for a k-way tie at the top) and the Ties score, against numbers worked out by hand
and against a plain-numpy transcription of rewardbench's `process_single_model`."""

from __future__ import annotations

from collections import defaultdict
from datetime import UTC, datetime

import numpy as np
import polars as pl
import pytest

from rb_pipeline.catalog import Benchmark
from rb_pipeline.lake import dataset_path, scores_dir, write_parquet
from rb_pipeline.normalize import EXAMPLES_SCHEMA, RESPONSES_SCHEMA
from rb_pipeline.scoring import SCORES_SCHEMA, write_run
from rb_pipeline.warehouse import build_warehouse, query

CATALOG = {
    "benchmark": "hm-rb2",
    "title": "hand-made RewardBench 2",
    "kind": "best-of-n",
    "rule": "rb2-top-share",
    "overall": {"name": "hm-rb2", "column": "reward_bench_2"},
    "local": [{"format": "rewardbench-2", "path": "unused.jsonl"}],
    "sections": {"f": {"title": "F", "column": "rb2_factuality"}, "t": {"title": "T", "column": "rb2_ties"}},
    "subsets": {
        "F": {"section": "f", "weight": 1},
        "Ties": {"section": "t", "weight": 1, "rule": "rb2-ties"},
    },
}
# (subset, example id, chosen scores, rejected scores)
ROWS = [
    ("F", "F/f1", [2.0], [1.0, 1.0, 1.0]),  # top alone: 1
    ("F", "F/f2", [1.0], [1.0, 0.0, 0.0]),  # top shared with 1 rejected: 1/2
    ("F", "F/f3", [1.0], [1.0, 1.0, 0.0]),  # shared with 2: 1/3
    ("F", "F/f4", [0.5], [1.0, 0.5, 0.0]),  # not the top: 0
    ("Ties", "Ties/ref:1", [2.0], [1.0, 0.5, 0.0]),  # accurate, gap 1
    ("Ties", "Ties/tied:1", [3.0, 2.5], [1.0, 2.0]),  # accurate, gap 0.5, spread 0.5
    ("Ties", "Ties/ref:2", [1.0], [1.5, 0.0]),  # wrong, gap -0.5
    ("Ties", "Ties/tied:2", [2.0, 2.0], [1.0]),  # accurate, gap 1, spread 0
    ("Ties", "Ties/ref:3", [0.0], [1.0]),  # wrong; no tied partner
    ("Ties", "Ties/tied:4", [1.0, 0.0], [0.5]),  # wrong, spread 1; no ref partner
]
# By hand. F: (1 + 1/2 + 1/3 + 0) / 4. Ties: ref accuracy 1/3, tied accuracy 2/3; prompts in both: 1, 2.
# Prompt 1: gap_tied 0.5 > spread 0.5? no; min(1, 0.5) > 0.5? no; tanh(0.5 / 0.5 - 1) = 0.
# Prompt 2: gap_tied 1 > spread 0: yes; min(-0.5, 1) > 0? no; -0.5 / 0 = -inf: tanh = -1.
# 0.3 * 2/3 + 0.3 * 1/3 + 0.2 * 1/2 + 0.2 * 0 + 0.01 * (0 - 1) / 2 = 0.395
F_BY_HAND = (1 + 1 / 2 + 1 / 3 + 0) / 4
TIES_BY_HAND = 0.395


def rewardbench_ties_score(rows) -> float:
    """rewardbench's process_single_model + _compute_prompt_stats, transcribed onto (id, chosen, rejected)."""
    grouped = defaultdict(list)
    for _, example_id, chosen, rejected in rows:
        sample_type, prompt_id = example_id.split("/")[-1].split(":")
        grouped[(sample_type, int(prompt_id))] += [(True, s) for s in chosen] + [(False, s) for s in rejected]
    ref, tied = {}, {}
    for (sample_type, prompt_id), samples in grouped.items():
        correct = [s for ok, s in samples if ok]
        incorrect = [s for ok, s in samples if not ok]
        spread = max(correct) - min(correct) if len(correct) > 1 else None
        gap = min(correct) - max(incorrect)
        (ref if sample_type == "ref" else tied)[prompt_id] = (gap > 0, spread, gap)
    both = set(ref) & set(tied)
    spread = np.array([tied[p][1] for p in both])
    gap_tied = np.array([tied[p][2] for p in both])
    gap_ref = np.array([ref[p][2] for p in both])
    with np.errstate(divide="ignore", invalid="ignore"):
        margin = np.nan_to_num(np.tanh(np.minimum(gap_ref, gap_tied) / spread - 1), nan=0.0)
    return float(
        0.30 * np.mean([s[0] for s in tied.values()])
        + 0.30 * np.mean([s[0] for s in ref.values()])
        + 0.20 * np.mean(gap_tied > spread)
        + 0.20 * np.mean(np.minimum(gap_ref, gap_tied) > spread)
        + 0.01 * np.mean(margin)
    )


@pytest.fixture
def warehouse(rb_home):
    examples, responses, scores = [], [], []
    for subset, example_id, chosen, rejected in ROWS:
        examples.append(
            {
                "benchmark": "hm-rb2",
                "subset": subset,
                "example_id": example_id,
                "prompt": [{"role": "user", "content": f"prompt {example_id}"}],
                "source_revision": "hand-made",
                "source_file": "hand-made",
                "source_row": 0,
            }  # fmt: skip
        )
        labelled = [("chosen", s) for s in chosen] + [("rejected", s) for s in rejected]
        for position, (label, score) in enumerate(labelled):
            response_id = f"{example_id}-{position}"
            responses.append(
                {
                    "benchmark": "hm-rb2",
                    "example_id": example_id,
                    "response_id": response_id,
                    "position": position,
                    "text": f"answer {position}",
                    "label": label,
                    "source_model": None,
                }  # fmt: skip
            )
            scores.append(
                {
                    "model": "m",
                    "run_id": "r1",
                    "settings_key": "k",
                    "response_id": response_id,
                    "score": score,
                    "score_vector": None,
                    "n_tokens": 1,
                    "truncated_tokens": 0,
                    "reused": False,
                }  # fmt: skip
            )
    write_parquet(pl.DataFrame(examples, schema=EXAMPLES_SCHEMA), dataset_path("examples", "hm-rb2"))
    write_parquet(pl.DataFrame(responses, schema=RESPONSES_SCHEMA), dataset_path("responses", "hm-rb2"))
    write_parquet(pl.DataFrame(scores, schema=SCORES_SCHEMA), scores_dir("m", "r1") / "part-00000.parquet")
    ended = datetime(2026, 1, 1, tzinfo=UTC)
    write_run(
        {
            "run_id": "r1",
            "model": "m",
            "benchmarks": ["hm-rb2"],
            "status": "complete",
            "started_at": ended,
            "ended_at": ended,
            "provenance": "computed",
        }  # fmt: skip
    )
    return build_warehouse({"hm-rb2": Benchmark.model_validate(CATALOG)})


def test_the_transcription_agrees_with_the_hand_computation():
    assert rewardbench_ties_score([r for r in ROWS if r[0] == "Ties"]) == pytest.approx(TIES_BY_HAND)


def test_best_of_4_credit_shares_a_tied_top_score(warehouse):
    credits = query(
        "select example_id, credit, correct from example_outcomes where subset = 'F' order by 1", warehouse
    )
    assert credits["credit"].to_list() == pytest.approx([1.0, 1 / 2, 1 / 3, 0.0])
    assert credits["correct"].to_list() == [True, False, False, False]  # the strict rule, kept as `correct`


def test_subset_and_overall_scores_follow_rewardbench_2(warehouse):
    accuracy = dict(query("select subset, accuracy from subset_accuracy order by 1", warehouse).iter_rows())
    assert accuracy["F"] == pytest.approx(F_BY_HAND)
    assert accuracy["Ties"] == pytest.approx(TIES_BY_HAND)
    ties = query("select * from rb2_ties_history", warehouse).row(0, named=True)
    assert (ties["ref_accuracy"], ties["tied_accuracy"]) == (pytest.approx(1 / 3), pytest.approx(2 / 3))
    assert (ties["correctness_preferred"], ties["correctness_preferred_hard"]) == (0.5, 0.0)
    assert ties["margin_score"] == pytest.approx(-0.5)
    board = query("select reward_bench_2, rb2_ties from leaderboard", warehouse).row(0, named=True)
    assert board["rb2_ties"] == pytest.approx(TIES_BY_HAND)
    assert board["reward_bench_2"] == pytest.approx((F_BY_HAND + TIES_BY_HAND) / 2)
