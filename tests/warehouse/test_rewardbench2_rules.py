"""RewardBench 2's two scoring rules in the views, on hand-made rows (not benchmark data): the best-of-4
top-score share (1/k for a k-way tie at the top) and the Ties score, against numbers worked out by hand
and against a plain-numpy transcription of rewardbench's `process_single_model`."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest

from rb_pipeline.catalog.entries import Benchmark
from rb_pipeline.warehouse.views import build_warehouse, query
from tests.hand_made import (
    example_row,
    response_row,
    rewardbench_ties_score,
    write_dataset,
    write_run_row,
    write_scores,
)

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


def build_rows_warehouse(rows: list[tuple[str, str, list[float], list[float]]]):
    """The warehouse of model `m`'s one run over hand-made `rows` (subset, example id, chosen, rejected)."""
    examples, responses, scores = [], [], {}
    for subset, example_id, chosen, rejected in rows:
        examples.append(example_row("hm-rb2", subset, example_id))
        labelled = [("chosen", s) for s in chosen] + [("rejected", s) for s in rejected]
        for position, (label, score) in enumerate(labelled):
            response_id = f"{example_id}-{position}"
            responses.append(
                response_row("hm-rb2", example_id, response_id, position, f"answer {position}", label)
            )
            scores[response_id] = score
    write_dataset("hm-rb2", examples, responses)
    write_scores("m", "r1", scores)
    write_run_row("m", "r1", ["hm-rb2"], datetime(2026, 1, 1, tzinfo=UTC))
    return build_warehouse({"hm-rb2": Benchmark.model_validate(CATALOG)})


@pytest.fixture
def warehouse(rb_home):
    return build_rows_warehouse(ROWS)


def test_ties_zero_spread_with_a_positive_gap_gets_the_full_margin(rb_home):
    """Two correct answers scored alike (spread 0) above every incorrect one: gap / 0 = +inf, tanh = 1
    (issue 29, mutant 4: scored 0)."""
    rows = [
        ("Ties", "Ties/ref:1", [2.0], [1.0, 0.0]),  # accurate, gap 2 - 1 = 1
        ("Ties", "Ties/tied:1", [3.0, 3.0], [1.0]),  # accurate, gap 3 - 1 = 2, spread 0
    ]
    # 0.3 x 1 + 0.3 x 1 + 0.2 x (2 > 0) + 0.2 x (min(1, 2) > 0) + 0.01 x tanh(1 / 0 - 1) = 1.01
    assert rewardbench_ties_score(rows) == pytest.approx(1.01)
    path = build_rows_warehouse(rows)
    ties = query("select margin_score, score from rb2_ties_history", path).row(0, named=True)
    assert ties["margin_score"] == 1.0
    assert ties["score"] == pytest.approx(1.01, abs=1e-12)


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


# ---------------------------------------------------------------- RewardBench 2 result files imported


def rb2_catalog() -> dict[str, Benchmark]:
    """The hand-made RewardBench 2 with a Hub source in the rewardbench-2 format (ids `<subset>/<id>`)."""
    entry = {**CATALOG, "hub": {"repo": "hand/made", "split": "test", "format": "rewardbench-2"}}
    return {"hm-rb2": Benchmark.model_validate(entry)}


def test_rewardbench_2_per_example_file_imports_with_shares_and_ties(rb_home, tmp_path):
    """eval-set-scores/<org>/<model>.json as run_v2.py writes it (column-wise): `results` 1/k shares
    (upstream's reroll_and_score_dataset) and, on Ties, `results: null` with the `scores` from which
    the warehouse computes the Ties score by the rb2-ties rule (issue 12, fix 4)."""
    from rb_pipeline.publish.importer import import_path

    shares = {"f1": 1.0, "f2": 1 / 2, "f3": 1 / 3, "f4": 0.0}  # what upstream writes for F (by hand above)
    rows = []
    for subset, example_id, chosen, rejected in ROWS:
        short = example_id.split("/", 1)[1]
        rows.append(
            {
                "id": short,
                "subset": subset,
                "scores": chosen + rejected,
                "num_correct": len(chosen),
                "results": shares.get(short),  # null on Ties, as upstream's file
            }
        )
    columns = {key: [row[key] for row in rows] for key in rows[0]}
    path = tmp_path / "eval-set-scores" / "hand-made" / "rb2-rm.json"
    path.parent.mkdir(parents=True)
    path.write_text(json.dumps({**columns, "model": "hand-made/rb2-rm", "model_type": "Seq. Classifier"}))
    (run,) = import_path(path, log=lambda _: None, benchmarks=rb2_catalog())
    assert (run.model, run.benchmarks, run.n_examples) == ("hand-made/rb2-rm", ["hm-rb2"], 10)

    warehouse = build_warehouse(rb2_catalog())
    accuracy = dict(query("select subset, accuracy from subset_accuracy order by 1", warehouse).iter_rows())
    assert accuracy["F"] == pytest.approx(F_BY_HAND)  # (1 + 1/2 + 1/3 + 0) / 4
    assert accuracy["Ties"] == pytest.approx(TIES_BY_HAND)  # 0.395, by hand and by the transcription
    board = query("select reward_bench_2, rb2_ties, provenance from leaderboard", warehouse).row(
        0, named=True
    )
    assert board["reward_bench_2"] == pytest.approx((F_BY_HAND + TIES_BY_HAND) / 2)
    assert board["provenance"] == "imported"


def test_rewardbench_2_metrics_file_imports(rb_home, tmp_path):
    """eval-set/<org>/<model>.json of RewardBench 2: {subset: score}; overall = the mean of the subsets."""
    from rb_pipeline.publish.importer import import_path

    path = tmp_path / "eval-set" / "hand-made" / "rb2-metrics.json"
    path.parent.mkdir(parents=True)
    path.write_text(json.dumps({"F": 0.625, "Ties": 0.395, "model": "hand-made/rb2-metrics"}))
    import_path(path, log=lambda _: None, benchmarks=rb2_catalog())
    warehouse = build_warehouse(rb2_catalog())
    board = query("select reward_bench_2 from leaderboard", warehouse).item()
    assert board == pytest.approx((0.625 + 0.395) / 2)
