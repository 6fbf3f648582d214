"""History views, null baselines and the audit views, on hand-made lakes with numbers computed by hand."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime

import duckdb
import polars as pl
import pytest

from rb_pipeline.catalog.entries import Benchmark
from rb_pipeline.core.lake import write_parquet
from rb_pipeline.core.paths import lake_dir
from rb_pipeline.warehouse.stats import NULL_BASELINES, score_null_baselines
from rb_pipeline.warehouse.views import MATERIALIZED, build_warehouse, query
from tests.hand_made import (
    example_row,
    one,
    response_row,
    write_dataset,
    write_run_row,
    write_scores,
)

# ---------------------------------------------------------------- history


@pytest.fixture
def history(warehouse):
    """test_views' lake (tests/warehouse/conftest.py): m1 has an older complete run with flipped scores
    (r1-old), the run that counts (r2) and a newer failed run (r3-failed); m2 one run on `hm` only."""
    return warehouse


def test_history_keeps_every_complete_run(history):
    runs = query("select distinct model, run_id from example_outcomes_history order by all", history)
    assert runs.rows() == [("m1", "r1-old"), ("m1", "r2"), ("m2", "r4")]  # never the failed run
    # r1-old (scores flipped): only e8 (0.5 vs 1.0 -> -0.5 vs -1.0) is right
    accuracy = query(
        "select subset, n, accuracy from subset_accuracy_history where run_id = 'r1-old' order by 1", history
    )
    assert accuracy.rows() == [("a1", 2, 0.0), ("a2", 1, 0.0), ("b1", 2, 0.0), ("p1", 2, 0.5), ("p2", 1, 0.0)]


def test_leaderboard_history_has_a_row_per_run_newest_first(history):
    rows = query(
        "select model, run_id, ended_at, rewardbench, chat, safety, prior_sets from leaderboard_history",
        history,
    )
    assert rows.select("model", "run_id").rows() == [("m1", "r2"), ("m1", "r1-old"), ("m2", "r4")]
    r2, r1, r4 = rows.to_dicts()
    assert r2["ended_at"] > r1["ended_at"]
    assert r2["rewardbench"] == pytest.approx(0.55)  # as in the latest leaderboard
    # r1-old: A = 0, B = 0, P = 0.5: (0 + 0 + 0.5 x 0.5) / 2.5 = 0.1
    assert (r1["chat"], r1["safety"], r1["prior_sets"]) == (0.0, 0.0, 0.5)
    assert r1["rewardbench"] == pytest.approx(0.1)
    assert r4["rewardbench"] == pytest.approx(0.5625) and r4["prior_sets"] is None


LATEST_ONLY = ["judge_flags", "below_null", "rank_groups"]  # leaderboard columns about the latest runs only


def test_leaderboard_history_has_the_leaderboard_columns(history):
    latest = query("select * from leaderboard limit 0", history).columns
    runs = query("select * from leaderboard_history limit 0", history).columns
    # the latest row's provenance (computed, imported, or both across benchmarks) follows the scores,
    # then the latest-only notes (judge_health flags, subsets below the best null baseline)
    scores = latest[1 : -1 - len(LATEST_ONLY)]
    assert runs == ["model", "run_id", "ended_at", "provenance", *scores]
    assert latest[-1 - len(LATEST_ONLY) :] == ["provenance", *LATEST_ONLY]


def test_latest_views_are_the_history_of_the_latest_runs(history):
    # SQL test: rows where a latest view and its history at the latest run disagree (empty = pass)
    failing = query(
        """with latest_history as (
               select history.* exclude (run_id, ended_at, provenance)
               from leaderboard_history as history
               where history.run_id in ('r2', 'r4')
           )
           (select * from latest_history except select * exclude (provenance, {notes}) from leaderboard)
           union all
           (select * exclude (provenance, {notes}) from leaderboard except select * from latest_history)""".format(
            notes=", ".join(LATEST_ONLY)
        ),
        history,
    )
    assert failing.is_empty(), failing


def test_subset_accuracy_prefers_computed_runs_over_imported_ones(hand_made_catalog, history):
    # an imported run of m1 newer than its computed ones, and one of a model only imported
    ended = datetime(2026, 2, 1, tzinfo=UTC)
    for model, run_id in [("m1", "imp-1"), ("m9", "imp-9")]:
        metrics = pl.DataFrame(
            [{"model": model, "run_id": run_id, "benchmark": "hm", "subset": "a1", "n": 10, "accuracy": 0.9}]
        )
        write_parquet(metrics, lake_dir("imported_metrics", f"{run_id}.parquet"))
        write_run_row(model, run_id, ["hm"], ended, started_at=None, provenance="imported")
    catalog = hand_made_catalog
    build_warehouse(catalog, history)
    rows = query(
        "select model, run_id, provenance, accuracy from subset_accuracy_history where subset = 'a1' order by all",
        history,
    )
    assert rows.rows() == [
        ("m1", "imp-1", "imported", 0.9),
        ("m1", "r1-old", "computed", 0.0),
        ("m1", "r2", "computed", 0.5),
        ("m2", "r4", "computed", 0.5),
        ("m9", "imp-9", "imported", 0.9),
    ]
    latest = query("select model, accuracy from subset_accuracy where subset = 'a1' order by 1", history)
    assert latest.rows() == [("m1", 0.5), ("m2", 0.5), ("m9", 0.9)]


def test_warehouse_file_stores_the_heavy_history_views_as_tables(history):
    with duckdb.connect(str(history), read_only=True) as con:
        tables = {row[0] for row in con.execute("select table_name from duckdb_tables()").fetchall()}
        views = {row[0] for row in con.execute("select view_name from duckdb_views()").fetchall()}
    assert set(MATERIALIZED) <= tables
    assert {"example_outcomes", "subset_accuracy", "leaderboard", "leaderboard_history"} <= views


# ---------------------------------------------------------------- null baselines and audits


AUDIT_CATALOG = {
    "au": {
        "benchmark": "au",
        "title": "audits",
        "kind": "preference",
        "local": [{"format": "rewardbench", "path": "unused.jsonl"}],
        "sections": {"S": {"title": "S", "column": "chat"}},
        "subsets": {"s": {"section": "S", "weight": 1}, "t": {"section": "S", "weight": 1}},
    }
}

# (subset, example_id, [(label, text), ...] in source order (position = index))
AUDIT_EXAMPLES = [
    ("s", "x1", [("chosen", "a much longer answer"), ("rejected", "short")]),  # chosen longer
    ("s", "x2", [("chosen", "tiny"), ("rejected", "a long rejected answer")]),  # chosen shorter
    ("s", "x3", [("rejected", "first, rejected"), ("chosen", "second chosen!!")]),  # same length, chosen 2nd
    ("s", "x4", [("chosen", "longest chosen answer"), ("rejected", "loser 1"), ("rejected", "loser two")]),
    ("t", "y1", [("chosen", "abcdef"), ("rejected", "abc")]),  # chosen longer
    ("t", "y2", [("chosen", "abc"), ("rejected", "abcdef"), ("rejected", "ab")]),  # not longer than all
]


def write_audit_lake(models: dict[str, dict[str, float]]) -> dict[str, Benchmark]:
    """AUDIT_EXAMPLES as examples/responses (response_id = `<example_id>-<position>`), and per model one
    complete computed run with the given scores ({response_id: score})."""
    examples, responses = [], []
    for subset, example_id, answers in AUDIT_EXAMPLES:
        examples.append(example_row("au", subset, example_id))
        for position, (label, text) in enumerate(answers):
            responses.append(
                response_row("au", example_id, f"{example_id}-{position}", position, text, label)
            )
    write_dataset("au", examples, responses)
    for order, (model, scores) in enumerate(models.items()):
        run_id = f"run-{order}"
        write_scores(model, run_id, scores)
        ended = datetime(2026, 1, 1 + order, tzinfo=UTC)
        write_run_row(model, run_id, ["au"], ended, model_type="classifier", started_at=None)
    return {name: Benchmark.model_validate(raw) for name, raw in AUDIT_CATALOG.items()}


def uniform_by_hand(response_id: str, seed: int = 20260101) -> float:
    """The random baseline's rule as its description states it, written out here: the first 8 bytes of
    blake2b("<seed>\\x1f<response_id>") as a big-endian integer over 2**64, uniform in [0, 1)."""
    digest = hashlib.blake2b(f"{seed}\x1f{response_id}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big") / 2**64


# (x1-0 0.6114, x1-1 0.6444), (x2-0 0.6368, x2-1 0.8193), (x3-0 0.8181, x3-1 0.7239),
# (x4-0 0.5320, x4-1 0.0634, x4-2 0.6927), (y1-0 0.2097, y1-1 0.2052), (y2-0 0.0589, y2-1 0.0299, y2-2 0.9183)
RANDOM_BY_HAND = {
    f"{example_id}-{position}": uniform_by_hand(f"{example_id}-{position}")
    for _, example_id, answers in AUDIT_EXAMPLES
    for position in range(len(answers))
}
# so random is wrong on x1 (0.6114 < 0.6444), x2, x3 (chosen x3-1 0.7239 < 0.8181) and x4 (0.5320 <
# 0.6927): s = 0 / 4; right on y1 (0.2097 > 0.2052), wrong on y2 (0.0589 < 0.9183): t = 1 / 2

# a model right on x1, x2, x4 and y1; wrong on x3 (tie) and y2
HAND_MODEL = {
    "x1-0": 2.0, "x1-1": 1.0, "x2-0": 1.0, "x2-1": 0.0, "x3-0": 1.0, "x3-1": 1.0,
    "x4-0": 3.0, "x4-1": 1.0, "x4-2": 2.0, "y1-0": 1.0, "y1-1": 0.0, "y2-0": 0.0, "y2-1": 1.0, "y2-2": -1.0,
}  # fmt: skip


@pytest.fixture
def audits(rb_home):
    catalog = write_audit_lake({"org/hand": HAND_MODEL})
    runs = score_null_baselines(catalog, log=lambda _: None)
    assert sorted(runs) == sorted(b.model for b in NULL_BASELINES)
    return build_warehouse(catalog)


def test_null_baselines_are_runs_seen_by_every_view(audits):
    runs = query(
        "select model, model_type, provenance, status from runs where model like 'baseline/%' order by 1",
        audits,
    )
    assert runs.rows() == [
        (model, "baseline", "computed", "complete")
        for model in sorted(
            ["baseline/first-position", "baseline/longer", "baseline/random", "baseline/shorter"]
        )
    ]
    board = query("select model from leaderboard", audits)["model"].to_list()
    assert set(board) == {"org/hand", *runs["model"]}


def test_longer_and_shorter_wins_accuracy_by_hand(audits):
    accuracy = {
        (model, subset): value
        for model, subset, value in query(
            "select model, subset, accuracy from subset_accuracy where model like 'baseline/%'", audits
        ).rows()
    }
    # s: longer wins on x1 and x4; x2 chosen shorter; x3 equal lengths (a tie, wrong): 2 / 4
    assert accuracy["baseline/longer", "s"] == 0.5
    # t: y1 (6 > 3) right; y2 (3 < 6) wrong: 1 / 2
    assert accuracy["baseline/longer", "t"] == 0.5
    # shorter wins: x2 only in s (x4's chosen is the longest), y2 loses to "ab": 1 / 4 and 0 / 2
    assert accuracy["baseline/shorter", "s"] == 0.25
    assert accuracy["baseline/shorter", "t"] == 0.0
    # first position: every chosen is first except x3: 3 / 4; in t the chosen is always first: 1
    assert accuracy["baseline/first-position", "s"] == 0.75
    assert accuracy["baseline/first-position", "t"] == 1.0


def test_null_baselines_are_scored_once_and_random_is_reproducible(audits):
    scores = query("select response_id, score from scores where model = 'baseline/random' order by 1", audits)
    assert dict(scores.rows()) == RANDOM_BY_HAND
    catalog = {name: Benchmark.model_validate(raw) for name, raw in AUDIT_CATALOG.items()}
    before = sorted(lake_dir("runs").glob("*.parquet"))
    again = score_null_baselines(catalog, log=lambda _: None)
    assert sorted(lake_dir("runs").glob("*.parquet")) == before  # nothing new written
    assert set(again.values()) == set(
        query("select run_id from runs where model like 'baseline/%'", audits)["run_id"]
    )


def test_length_bias_splits_accuracy_by_whether_the_chosen_is_longer(audits):
    split = query(
        "select subset, chosen_longer, n, accuracy from length_bias where model = 'org/hand' order by 1, 2",
        audits,
    )
    # s: chosen longer on x1, x4 (both right); not on x2 (right), x3 (equal lengths; tie: wrong)
    # t: chosen longer on y1 (right); not on y2 (longer than "ab" but not than "abcdef"; wrong)
    assert split.rows() == [
        ("s", False, 2, 0.5),
        ("s", True, 2, 1.0),
        ("t", False, 1, 0.0),
        ("t", True, 1, 1.0),
    ]
    # the longer-wins baseline is right exactly where the chosen is longer
    longer = query(
        "select chosen_longer, accuracy from length_bias where model = 'baseline/longer' order by 1", audits
    )
    assert set(longer.rows()) == {(False, 0.0), (True, 1.0)}


def test_above_null_baseline_compares_with_the_best_null_rule(audits):
    rows = query(
        "select subset, accuracy, best_null_accuracy, best_null_model, margin from above_null_baseline "
        "where model = 'org/hand' order by 1",
        audits,
    )
    s, t = rows.to_dicts()
    # s: the model 3 / 4 (x1, x2, x4); longer wins 2 / 4, shorter 1 / 4, random 0 / 4 (RANDOM_BY_HAND);
    # first position (3 / 4 here) reads the stored order and is left out of the comparison
    assert s == {
        "subset": "s",
        "accuracy": 0.75,
        "best_null_accuracy": 0.5,
        "best_null_model": "baseline/longer",
        "margin": 0.25,
    }
    # t: the model 1 / 2 (y1); longer 1 / 2, random 1 / 2, shorter 0 / 2; first position (2 / 2) is left
    # out; a tie between nulls goes to the first model id: longer before random
    assert t == {
        "subset": "t",
        "accuracy": 0.5,
        "best_null_accuracy": 0.5,
        "best_null_model": "baseline/longer",
        "margin": 0.0,
    }
    baselines = query("select count(*) as n from above_null_baseline where model like 'baseline/%'", audits)
    assert baselines["n"][0] == 0


def test_paired_comparison_on_the_warehouse(audits):
    row = one(
        "select * from paired_comparison where model_a = 'org/hand' and model_b = 'baseline/longer' "
        "and subset = 's'",
        audits,
    )
    # hand right on x1, x2, x4; longer right on x1, x4: a_only = 1 (x2), b_only = 0; p = 2 x 1/2 = 1
    assert (row["n_both"], row["a_only"], row["b_only"], row["p_value"]) == (4, 1, 0, 1.0)
