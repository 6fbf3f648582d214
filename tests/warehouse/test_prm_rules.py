"""The PRM scoring rules in SQL (sql/prm_*.sql) on hand-made step scores (tests/prm_hand_made.py), each
expected number worked out by hand from the rules in ../shared/data/README.md."""

from __future__ import annotations

import pytest

from rb_pipeline.catalog.entries import Benchmark
from rb_pipeline.warehouse.views import build_warehouse, query
from tests.prm_hand_made import PRM_CATALOG, write_prm_lake


@pytest.fixture
def prm_catalog() -> dict[str, Benchmark]:
    return {name: Benchmark.model_validate(raw) for name, raw in PRM_CATALOG.items()}


@pytest.fixture
def prm_warehouse(prm_catalog, rb_home):
    write_prm_lake()
    return build_warehouse(prm_catalog)


def test_step_scores_one_row_per_step(prm_warehouse):
    # 14 solutions with 2+3+2+2 + 3+3+1+2+2 + 3+3+2+2+2 = 32 steps; t5's cut step has no score
    frame = query("select * from prm_step_scores order by benchmark, example_id, step")
    assert frame.height == 32
    t5 = frame.filter(frame["example_id"] == "t5")
    assert t5["score"].to_list() == [0.9, None]
    assert t5["label"].to_list() == ["correct", "error"]
    # ProcessBench knows only the earliest wrong step: the steps after it have no label
    assert frame.filter(frame["example_id"] == "s2")["label"].to_list() == ["correct", "error", None]


def test_processbench_threshold_chosen_on_its_subset(prm_warehouse):
    # Subset pa, tau tried at every score and at min - 1. At tau 0.4: s1 [0.9, 0.8] -> -1 = label;
    # s2 [0.7, 0.3, 0.6] -> 1 = label; s3 [0.4, 0.9] -> 0 = label; s4 [0.6, 0.2] -> 1 != -1. So
    # acc_err = 2/2, acc_cor = 1/2, F1 = 2 * 1 * 0.5 / 1.5 = 2/3; tau 0.6 gives the same (tie: the
    # smaller wins); 0.3 and 0.7 give 0.5; 0.2, 0.8, 0.9 and -0.8 give 0.
    frame = query("select * from prm_processbench_scores order by subset")
    pa = frame.row(0, named=True)
    assert pa["threshold"] == pytest.approx(0.4)
    assert pa["threshold_chosen_on"] == "pa"
    assert (pa["acc_err"], pa["acc_cor"], pa["f1"]) == pytest.approx((1.0, 0.5, 2 / 3))
    # Subset pb at tau 0.4: t1 [0.5, 0.45, 0.1] -> 2 = label; t2 [0.5, 0.35, 0.9] -> 1 != 2; t3 [0.95]
    # -> -1 = label; t4 [0.41, 0.2] -> 1 != 0 (0.41 is above tau: judged right); t5 [0.9, cut] -> -1 != 1.
    # acc_err = 1/4, acc_cor = 1/1, F1 = 2 * 0.25 / 1.25 = 0.4
    pb = frame.row(1, named=True)
    assert (pb["n_error"], pb["n_correct"]) == (4, 1)
    assert (pb["acc_err"], pb["acc_cor"], pb["f1"]) == pytest.approx((0.25, 1.0, 0.4))
    assert pb["threshold"] == pytest.approx(0.4) and pb["complete"]


def test_processbench_fixed_threshold(prm_catalog, rb_home):
    # tau = 0.5 given: pa: s1 -1 right, s2 [0.7, 0.3] -> 1 right, s3 [0.4] -> 0 right, s4 [0.6, 0.2] -> 1
    # wrong: acc_err 1, acc_cor 0.5, F1 2/3. pb: t1 [0.5] -> 0 != 2; t2 [0.5] -> 0; t3 right; t4 [0.41] -> 0
    # right; t5 [0.9] -> -1 != 1: acc_err 1/4, acc_cor 1, F1 0.4
    raw = PRM_CATALOG["hm-pb"] | {"steps": {"rule": "processbench", "threshold": 0.5}}
    write_prm_lake()
    build_warehouse(prm_catalog | {"hm-pb": Benchmark.model_validate(raw)})
    frame = query(
        "select subset, threshold, acc_err, acc_cor, f1 from prm_processbench_scores order by subset"
    )
    assert frame.rows() == [
        ("pa", 0.5, 1.0, 0.5, pytest.approx(2 / 3)),
        ("pb", 0.5, 0.25, 1.0, pytest.approx(0.4)),
    ]


def test_prmbench_step_outcomes_and_scores(prm_warehouse):
    # tau 0.5, positive = score > 0.5. c1: a [0.9 ok TP, 0.7 error FP, 0.2 ok FN]; b [0.4 error TN,
    # 0.6 TP, 0.5 FN (not above 0.5)], its error step 5 past the end counts nowhere: TP 2 FP 1 TN 1 FN 2.
    # F1: P 2/3, R 2/4 -> 4/7; F1_neg: P 1/3, R 1/2 -> 2/5; PRMScore (4/7 + 2/5) / 2 = 17/35.
    # c2: d [0.9 error FP, 0.2 ok FN]: TP 0: P = R = 0 -> F1 -1; F1_neg P = R = 0 -> -1; PRMScore
    # max(0, -1) = 0 (clipped). ms (f1_only): e [0.8 TP, 0.3 FN]: F1 2/3 (P 1, R 1/2); F1_neg: TN 0,
    # FN 1, FP 0 -> P 0, R -1 -> 0; PRMScore = F1 alone = 2/3 (the mean would give 1/3).
    # clean: f [0.9 TP, 0.9 TP]: F1 1, F1_neg -1 (both denominators 0) -> PRMScore 0.
    frame = query("select * from prm_prmbench_scores where scope = 'category' order by name")
    by_name = {row["name"]: row for row in frame.iter_rows(named=True)}
    c1 = by_name["c1"]
    assert (c1["tp"], c1["fp"], c1["tn"], c1["fn"]) == (2, 1, 1, 2)
    assert (c1["f1"], c1["f1_neg"], c1["prmscore"]) == pytest.approx((4 / 7, 2 / 5, 17 / 35))
    assert (by_name["c2"]["f1"], by_name["c2"]["f1_neg"], by_name["c2"]["prmscore"]) == (-1, -1, 0)
    assert by_name["ms"]["prmscore"] == pytest.approx(2 / 3)
    assert (by_name["clean"]["f1"], by_name["clean"]["f1_neg"], by_name["clean"]["prmscore"]) == (1, -1, 0)


def test_prmbench_overall_pools_counts_and_groups_average(prm_warehouse):
    # overall: c1 + c2 + ms, not clean: TP 3, FP 2, TN 1, FN 4. F1: P 3/5, R 3/7 -> 1/2; F1_neg:
    # P 1/5, R 1/3 -> 1/4; PRMScore (1/2 + 1/4) / 2 = 3/8 (with clean's 2 TPs it would differ).
    # groups: g1 = mean(17/35, 0) = 17/70; g2 = ms = 2/3.
    frame = query("select * from prm_prmbench_scores where scope <> 'category' order by scope, name")
    got = {(row["scope"], row["name"]): row for row in frame.iter_rows(named=True)}
    overall = got[("overall", "overall")]
    assert (overall["tp"], overall["fp"], overall["tn"], overall["fn"]) == (3, 2, 1, 4)
    assert (overall["f1"], overall["f1_neg"], overall["prmscore"]) == pytest.approx((0.5, 0.25, 0.375))
    assert got[("group", "g1")]["prmscore"] == pytest.approx(17 / 70)
    assert got[("group", "g2")]["prmscore"] == pytest.approx(2 / 3)
    assert all(row["complete"] for row in got.values())


def test_prm_leaderboard_columns_from_catalog(prm_warehouse):
    # ProcessBench overall = mean of the subset F1s = (2/3 + 0.4) / 2 = 8/15
    row = query("select * from prm_leaderboard").row(0, named=True)
    assert row["model"] == "prm-1"
    assert row["hm_pb"] == pytest.approx(8 / 15) and row["hm_pb_threshold"] == pytest.approx(0.4)
    assert row["hm_prm"] == pytest.approx(0.375)
    assert (row["hm_prm_g1"], row["hm_prm_g2"]) == pytest.approx((17 / 70, 2 / 3))
    assert row["hm_prm_threshold"] == 0.5
    assert row["coverage"] == "6/6 subsets in full"


def test_prm_leaderboard_empty_until_complete(prm_catalog, rb_home):
    # without t5's score, pb has 4 of its 5 solutions: ProcessBench's overall stays empty and says why
    write_prm_lake(drop=("t5",))
    build_warehouse(prm_catalog)
    row = query("select * from prm_leaderboard").row(0, named=True)
    assert row["hm_pb"] is None and row["hm_prm"] == pytest.approx(0.375)
    assert row["coverage"] == "5/6 subsets in full; missing: hm-pb/pb (4/5)"
