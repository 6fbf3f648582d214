"""RewardBench 2's two scoring rules in the views, on hand-made rows (not benchmark data): the best-of-4
top-score share (1/k for a k-way tie at the top) and the Ties score, against numbers worked out by hand
and against a plain-numpy transcription of rewardbench's `process_single_model`."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime

import pytest

from rb_pipeline.catalog.entries import Benchmark
from rb_pipeline.warehouse.stats import PUBLISHED_NO_INTERVAL
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


def test_rank_bootstrap_resamples_ties_by_its_own_rule(rb_home):
    """The rank groups' paired bootstrap draws Ties' prompts and recomputes the Ties score, as
    subset_accuracy's score is (issue 25). One prompt (ref:1 + tied:1): every draw is that prompt, so
    every resampled score is the Ties score, 1.01 by hand (test above), where the mean strict outcome
    (the credits it resampled before) is 1.0."""
    import duckdb

    from rb_pipeline.warehouse.ranks import paired_ties_resamples, rank_groups
    from rb_pipeline.warehouse.sql_rules import query_sql

    rows = [
        ("F", "F/f1", [2.0], [1.0, 1.0, 1.0]),  # F scored: the overall exists, so the model is ranked
        ("Ties", "Ties/ref:1", [2.0], [1.0, 0.0]),
        ("Ties", "Ties/tied:1", [3.0, 3.0], [1.0]),
    ]
    with duckdb.connect(str(build_rows_warehouse(rows))) as con:
        ties = con.sql(query_sql("stats/latest_ties_rows")).pl()
        resampled = paired_ties_resamples(con, ties, 40, seed=1)
        assert resampled.height == 40
        assert set(resampled["model"]) == {"m"} and set(resampled["n"]) == {2}
        assert resampled["score"].to_list() == pytest.approx([1.01] * 40, abs=1e-12)
        ranked = rank_groups(con, n_resamples=40)
    assert ranked.select("model", "column_name", "rank").to_dicts() == [
        {"model": "m", "column_name": "reward_bench_2", "rank": 1}
    ]


def test_an_incremental_update_ranks_ties_from_the_updated_file(rb_home):
    """During an update the rank groups read the attached file's Ties rows (its rb2_ties_examples view):
    a second model's run is added incrementally, and both models get a rank on reward_bench_2."""
    import duckdb

    from rb_pipeline.warehouse.update import rebuild_warehouse, update_warehouse

    catalog = {"hm-rb2": Benchmark.model_validate(CATALOG)}
    build_rows_warehouse(ROWS)
    path = rebuild_warehouse(catalog)
    write_scores("m2", "r2", {f"{e}-{i}": float(i == 0) for _, e, c, r in ROWS for i in range(len(c + r))})
    write_run_row("m2", "r2", ["hm-rb2"], datetime(2026, 1, 2, tzinfo=UTC))
    update = update_warehouse(catalog)
    assert (update.mode, update.models) == ("incremental", ("m2",)), update.reason
    with duckdb.connect(str(path), read_only=True) as con:
        ranked = con.sql(
            "select model, column_name from rank_groups where rank is not null order by 1"
        ).fetchall()
    assert ranked == [("m", "reward_bench_2"), ("m2", "reward_bench_2")]


def test_the_transcription_agrees_with_the_hand_computation():
    assert rewardbench_ties_score([r for r in ROWS if r[0] == "Ties"]) == pytest.approx(TIES_BY_HAND)


def test_best_of_4_credit_shares_a_tied_top_score(warehouse):
    credits = query(
        "select example_id, credit, correct from example_outcomes where subset = 'F' order by 1", warehouse
    )
    assert credits["credit"].to_list() == pytest.approx([1.0, 1 / 2, 1 / 3, 0.0])
    assert credits["correct"].to_list() == [True, False, False, False]  # the strict rule, kept as `correct`


def test_subset_and_overall_scores_follow_rewardbench_2(warehouse):
    """The Ties score is not an accuracy: it sits in subset_accuracy.score, its accuracy NULL; an accuracy
    rule's score is its accuracy. Sections and the overall read the scores (issue 25)."""
    rows = {
        r["subset"]: r for r in query("select * from subset_accuracy order by subset", warehouse).to_dicts()
    }
    assert rows["F"] == {
        "model": "m", "benchmark": "hm-rb2", "subset": "F", "n": 4,
        "accuracy": pytest.approx(F_BY_HAND), "score": pytest.approx(F_BY_HAND),
    }  # fmt: skip
    # n: the 6 Ties rows are counted; 0.395 by hand (ROWS' comment) and by the transcription
    assert rows["Ties"] == {
        "model": "m", "benchmark": "hm-rb2", "subset": "Ties", "n": 6,
        "accuracy": None, "score": pytest.approx(TIES_BY_HAND),
    }  # fmt: skip
    history = query(
        "select accuracy_both_orders from subset_accuracy_history where subset = 'Ties'", warehouse
    )
    assert history.item() is None  # no accuracy of any kind on a score rule
    ties = query("select * from rb2_ties_history", warehouse).row(0, named=True)
    assert (ties["ref_accuracy"], ties["tied_accuracy"]) == (pytest.approx(1 / 3), pytest.approx(2 / 3))
    assert (ties["correctness_preferred"], ties["correctness_preferred_hard"]) == (0.5, 0.0)
    assert ties["margin_score"] == pytest.approx(-0.5)
    board = query("select reward_bench_2, rb2_ties from leaderboard", warehouse).row(0, named=True)
    assert board["rb2_ties"] == pytest.approx(TIES_BY_HAND)
    # the section and overall are what they were with Ties in `accuracy`: ((1 + 1/2 + 1/3 + 0) / 4 +
    # 0.395) / 2 = (0.458333... + 0.395) / 2 = 0.426666..., the mean of the subsets (run_v2's leaderboard)
    assert board["reward_bench_2"] == pytest.approx(0.4266666666666667, abs=1e-12)
    assert board["reward_bench_2"] == pytest.approx((F_BY_HAND + TIES_BY_HAND) / 2)


# ---------------------------------------------------------------- RewardBench 2 result files imported


def rb2_catalog() -> dict[str, Benchmark]:
    """The hand-made RewardBench 2 with a Hub source in the rewardbench-2 format (ids `<subset>/<id>`)."""
    entry = {**CATALOG, "hub": {"repo": "hand/made", "split": "test", "format": "rewardbench-2"}}
    return {"hm-rb2": Benchmark.model_validate(entry)}


# What run_v2.py writes as `results`: reroll_and_score_dataset's (1 / number at the max) when the first
# score is the max, else 0, on every row, Ties included (its `subset.lower() == "ties"` never matches
# "Ties", so process_single_model's nulls are not written back). By hand from ROWS:
UPSTREAM_RESULTS = {
    "f1": 1.0, "f2": 1 / 2, "f3": 1 / 3, "f4": 0.0,
    "ref:1": 1.0, "tied:1": 1.0, "ref:2": 0.0, "tied:2": 1 / 2, "ref:3": 0.0, "tied:4": 1.0,
}  # fmt: skip


@pytest.mark.parametrize("wrapped", [False, True], ids=["plain", "wrapped"])
def test_rewardbench_2_per_example_file_imports_with_shares_and_ties(rb_home, tmp_path, wrapped):
    """eval-set-scores/<org>/<model>.json as run_v2.py writes it (column-wise): `results` 1/k shares
    (upstream's reroll_and_score_dataset), numeric on Ties too, and `scores` as numbers or wrapped in
    one-element lists ([[x], ...], as a classifier's logits come out): the warehouse computes the Ties
    score by the rb2-ties rule from the scores, never from Ties' `results` (whose mean, 0.5833, would
    be wrong) (issue 12, fix 4; issue 25)."""
    from rb_pipeline.sources.results.importer import import_path

    rows = []
    for subset, example_id, chosen, rejected in ROWS:
        short = example_id.split("/", 1)[1]
        rows.append(
            {
                "id": short,
                "subset": subset,
                "scores": [[s] for s in chosen + rejected] if wrapped else chosen + rejected,
                "num_correct": len(chosen),
                "results": UPSTREAM_RESULTS[short],
            }
        )
    columns = {key: [row[key] for row in rows] for key in rows[0]}
    path = tmp_path / "eval-set-scores" / "hand-made" / "rb2-rm.json"
    path.parent.mkdir(parents=True)
    path.write_text(json.dumps({**columns, "model": "hand-made/rb2-rm", "model_type": "Seq. Classifier"}))
    (run,) = import_path(path, log=lambda _: None, benchmarks=rb2_catalog())
    assert (run.model, run.benchmarks, run.n_examples) == ("hand-made/rb2-rm", ["hm-rb2"], 10)

    warehouse = build_warehouse(rb2_catalog())
    rows = {
        r[0]: r[1:]
        for r in query("select subset, accuracy, score from subset_accuracy", warehouse).iter_rows()
    }
    assert rows["F"] == (pytest.approx(F_BY_HAND), pytest.approx(F_BY_HAND))  # (1 + 1/2 + 1/3 + 0) / 4
    assert rows["Ties"] == (None, pytest.approx(TIES_BY_HAND))  # 0.395, by hand and by the transcription
    board = query("select reward_bench_2, rb2_ties, provenance from leaderboard", warehouse).row(
        0, named=True
    )
    assert board["reward_bench_2"] == pytest.approx((F_BY_HAND + TIES_BY_HAND) / 2)
    assert board["provenance"] == "imported"


def test_rewardbench_2_metrics_file_imports(rb_home, tmp_path):
    """eval-set/<org>/<model>.json of RewardBench 2: {subset: score}; overall = the mean of the subsets."""
    from rb_pipeline.sources.results.importer import import_path

    path = tmp_path / "eval-set" / "hand-made" / "rb2-metrics.json"
    path.parent.mkdir(parents=True)
    path.write_text(json.dumps({"F": 0.625, "Ties": 0.395, "model": "hand-made/rb2-metrics"}))
    import_path(path, log=lambda _: None, benchmarks=rb2_catalog())
    warehouse = build_warehouse(rb2_catalog())
    board = query("select reward_bench_2 from leaderboard", warehouse).item()
    assert board == pytest.approx((0.625 + 0.395) / 2)


def test_rewardbench_2_metrics_file_ties_is_a_score_in_its_own_column(rb_home, tmp_path):
    """Upstream's Ties lies in [-0.01, 1.01] (0.30 + 0.30 + 0.20 + 0.20 + 0.01 x tanh): 1.01 imports,
    into imported_metrics.score (its accuracy NULL); beyond that range, or an accuracy above 1, the
    file is refused naming the subset (issue 25)."""
    from rb_pipeline.sources.results.importer import ResultFileError, import_path

    path = tmp_path / "eval-set" / "hand-made" / "rb2-top.json"
    path.parent.mkdir(parents=True)
    path.write_text(json.dumps({"F": 1.0, "Ties": 1.01, "model": "hand-made/rb2-top"}))
    import_path(path, log=lambda _: None, benchmarks=rb2_catalog())
    warehouse = build_warehouse(rb2_catalog())
    stored = query("select subset, n, accuracy, score from imported_metrics order by 1", warehouse).to_dicts()
    assert stored == [
        {"subset": "F", "n": None, "accuracy": 1.0, "score": None},
        {"subset": "Ties", "n": None, "accuracy": None, "score": 1.01},
    ]
    board = query("select reward_bench_2, rb2_ties from leaderboard", warehouse).row(0, named=True)
    assert board == {"reward_bench_2": pytest.approx((1.0 + 1.01) / 2), "rb2_ties": pytest.approx(1.01)}
    for values, message in (
        ({"Ties": 1.02}, "Ties: rb2-ties score 1.02 is not in [-0.01, 1.01]"),
        ({"Ties": -0.02}, "Ties: rb2-ties score -0.02 is not in [-0.01, 1.01]"),
        ({"F": 1.01}, "F: accuracy 1.01 is not in [0.0, 1.0]"),
    ):
        path.write_text(json.dumps({**values, "model": "hand-made/rb2-bad"}))
        with pytest.raises(ResultFileError, match=re.escape(f"{path}: {message}")):
            import_path(path, log=lambda _: None, benchmarks=rb2_catalog())


def test_metrics_only_import_says_published_metrics_and_per_example_leaves_short_subsets_empty(
    rb_home, tmp_path
):
    """A run on part of the data (2 of F's 4 examples): its metrics file holds the same keys as a full
    run's, so its counts are unknown (n NULL) and its cells say "published metrics"; its per-example
    file shows F as short (2/4) and leaves it empty (issue 25)."""
    from rb_pipeline.sources.results.importer import import_path

    counted = {
        **CATALOG,
        "subsets": {"F": {**CATALOG["subsets"]["F"], "expected_rows": 4}, "Ties": CATALOG["subsets"]["Ties"]},
    }
    catalog = {
        "hm-rb2": Benchmark.model_validate(
            {**counted, "hub": {"repo": "hand/made", "split": "test", "format": "rewardbench-2"}}
        )
    }
    metrics = tmp_path / "eval-set" / "hand-made" / "part.json"
    metrics.parent.mkdir(parents=True)
    metrics.write_text(json.dumps({"F": 0.75, "Ties": 0.395, "model": "hand-made/part-metrics"}))
    part = [r for r in ROWS if r[1] in ("F/f1", "F/f2")] + [r for r in ROWS if r[0] == "Ties"]
    rows = [
        {
            "id": e.split("/", 1)[1],
            "subset": s,
            "scores": c + r,
            "num_correct": len(c),
            "results": UPSTREAM_RESULTS[e.split("/", 1)[1]],
        }
        for s, e, c, r in part
    ]
    per_example = tmp_path / "eval-set-scores" / "hand-made" / "part.json"
    per_example.parent.mkdir(parents=True)
    per_example.write_text(
        json.dumps({**{k: [row[k] for row in rows] for k in rows[0]}, "model": "hand-made/part-rows"})
    )
    import_path(tmp_path, log=lambda _: None, benchmarks=catalog)
    warehouse = build_warehouse(catalog)
    board = {
        row["model"]: row
        for row in query(
            "select model, rb2_factuality, rb2_ties, coverage from leaderboard", warehouse
        ).to_dicts()
    }
    assert board["hand-made/part-metrics"] == {
        "model": "hand-made/part-metrics",
        "rb2_factuality": 0.75,
        "rb2_ties": pytest.approx(0.395),
        "coverage": "rb2_factuality: published metrics; rb2_ties: published metrics",
    }
    # F from its 2 rows: (1 + 1/2) / 2 scored, but short of 4: empty; Ties (no expected rows) in full
    assert board["hand-made/part-rows"]["rb2_factuality"] is None
    assert board["hand-made/part-rows"]["coverage"].startswith("rb2_factuality: empty, missing F (2/4)")

    # Intervals: a published number has no count, so nothing to resample: no interval, and no_interval says
    # so, for the subsets and for the sections and overall built on them (issue 25). The per-example
    # run's F has one: its 2 credits 1 and 1/2 resample to means 1/2, 3/4 or 1 (each end with chance 1/4).
    def intervals(view: str, key: str) -> dict:
        return {(r["model"], r[key]): r for r in query(f"select * from {view}", warehouse).to_dicts()}

    subsets = intervals("subset_accuracy_ci", "subset")
    sections = intervals("section_scores_ci", "section")
    overall = intervals("overall_scores_ci", "overall")
    for row, estimate in (
        (subsets["hand-made/part-metrics", "F"], 0.75),
        (subsets["hand-made/part-metrics", "Ties"], 0.395),
        (sections["hand-made/part-metrics", "f"], 0.75),
        (sections["hand-made/part-metrics", "t"], 0.395),
        (overall["hand-made/part-metrics", "hm-rb2"], (0.75 + 0.395) / 2),  # 0.5725
    ):
        assert row["estimate"] == pytest.approx(estimate, abs=1e-12)
        assert (row["ci_low"], row["ci_high"], row["no_interval"]) == (None, None, PUBLISHED_NO_INTERVAL)
    assert subsets["hand-made/part-metrics", "F"]["n"] is None
    counted = subsets["hand-made/part-rows", "F"]
    assert (counted["n"], counted["estimate"], counted["ci_low"], counted["ci_high"]) == (2, 0.75, 0.5, 1.0)
    assert counted["no_interval"] is None
    assert sections["hand-made/part-rows", "t"]["no_interval"] is None  # Ties from its rows: resampled
