"""The SQL views on a hand-made lake, against numbers computed by hand.

Hand-made catalog: benchmark `hm` with sections A (subsets a1 weight 3, a2 weight 1, column `chat`)
and B (subset b1 weight 1, column `safety`); benchmark `hm-prior` with section P (subset p1, column
`prior_sets`, overall weight 0.5, not required) and subset p2 in no section. All roll up into the
overall `hm-all` shown as column `rewardbench`.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime

import polars as pl
import pytest

from rb_pipeline.warehouse.views import build_warehouse, query
from tests.hand_made import HAND_MADE_EXAMPLES, one, write_hand_made_lake, write_run_row, write_scores


def test_example_outcomes_strict_every_chosen_beats_every_rejected(warehouse):
    outcomes = query(
        "select example_id, correct, margin from example_outcomes where model='m1' order by 1", warehouse
    )
    assert outcomes.to_dicts() == [
        {"example_id": "e1", "correct": True, "margin": 1.0},
        {"example_id": "e2", "correct": False, "margin": 0.0},
        {"example_id": "e3", "correct": True, "margin": pytest.approx(0.1)},
        {"example_id": "e5", "correct": True, "margin": 1.0},
        {"example_id": "e6", "correct": False, "margin": -1.0},
        {"example_id": "e7", "correct": True, "margin": 0.5},
        {"example_id": "e8", "correct": False, "margin": -0.5},
        {"example_id": "e9", "correct": True, "margin": 1.0},
    ]


def test_subset_accuracy_uses_latest_complete_run(warehouse):
    accuracy = query("select subset, n, accuracy from subset_accuracy where model='m1' order by 1", warehouse)
    assert accuracy.to_dicts() == [
        {"subset": "a1", "n": 2, "accuracy": 0.5},
        {"subset": "a2", "n": 1, "accuracy": 1.0},
        {"subset": "b1", "n": 2, "accuracy": 0.5},
        {"subset": "p1", "n": 2, "accuracy": 0.5},
        {"subset": "p2", "n": 1, "accuracy": 1.0},
    ]


def test_section_scores_are_catalog_weighted(warehouse):
    sections = query(
        "select section, score, item_level_score, n_subsets from section_scores where model='m1' order by 1",
        warehouse,
    )
    assert sections.to_dicts() == [
        # A = (0.5 x 3 + 1.0 x 1) / 4 = 0.625; item level = 2 correct / 3 examples
        {"section": "A", "score": 0.625, "item_level_score": pytest.approx(2 / 3), "n_subsets": 2},
        # B = 0.5 (one subset, weight = its expected_rows)
        {"section": "B", "score": 0.5, "item_level_score": 0.5, "n_subsets": 1},
        # P = p1 only; p2 is in no section
        {"section": "P", "score": 0.5, "item_level_score": 0.5, "n_subsets": 1},
    ]


def test_leaderboard_overall_with_and_without_prior_sets(warehouse):
    m1 = one("select * from leaderboard where model='m1'", warehouse)
    # (A + B + 0.5 x P) / 2.5 = (0.625 + 0.5 + 0.25) / 2.5 = 0.55
    assert m1["rewardbench"] == pytest.approx(0.55)
    assert (m1["chat"], m1["safety"], m1["prior_sets"]) == (0.625, 0.5, 0.5)
    m2 = one("select * from leaderboard where model='m2'", warehouse)
    # no prior sets scored: the plain mean (0.625 + 0.5) / 2
    assert m2["rewardbench"] == pytest.approx(0.5625)
    assert m2["prior_sets"] is None


def test_overall_is_null_when_a_required_section_is_missing(hand_made_catalog, rb_home):
    catalog = hand_made_catalog
    write_hand_made_lake({"m3": {"r5": ("complete", ["hm-prior"], False)}})
    path = build_warehouse(catalog)
    row = one("select * from leaderboard where model='m3'", path)
    assert row["prior_sets"] == 0.5
    assert row["rewardbench"] is None


def test_subset_weights_table_comes_from_the_catalog(warehouse):
    weights = query("select subset, section, weight from subset_weights order by 1", warehouse)
    assert weights.to_dicts() == [
        {"subset": "a1", "section": "A", "weight": 3.0},
        {"subset": "a2", "section": "A", "weight": 1.0},
        {"subset": "b1", "section": "B", "weight": 2.0},
        {"subset": "p1", "section": "P", "weight": 1.0},
        {"subset": "p2", "section": None, "weight": None},
    ]


def test_real_catalog_weights_follow_rewardbench():
    from rb_pipeline.catalog.entries import load_benchmarks

    rewardbench = load_benchmarks()["rewardbench"]
    assert rewardbench.weight_of("math-prm") == 984
    assert rewardbench.weight_of("hep-go") == 164
    counts = [s.expected_rows for s in rewardbench.all_subsets.values()]
    assert len(counts) == 23 and sum(counts) == 2985
    sections = {
        name: [k for k, s in rewardbench.all_subsets.items() if s.section == name]
        for name in rewardbench.sections
    }
    assert {k: len(v) for k, v in sections.items()} == {
        "chat": 5,
        "chat_hard": 6,
        "safety": 5,
        "reasoning": 7,
    }
    assert sum(rewardbench.weight_of(s) for s in sections["reasoning"]) == 984 + 6 * 164


def test_sql_is_read_only(warehouse):
    from rb_pipeline.warehouse.views import QueryError

    with pytest.raises(QueryError, match="read-only"):
        query("drop view leaderboard", warehouse)


def test_no_view_names_a_subset():
    from rb_pipeline.catalog.entries import load_benchmarks
    from rb_pipeline.warehouse.views import SQL_DIR

    names = {s for b in load_benchmarks().values() for s in b.all_subsets}
    for path in SQL_DIR.glob("*.sql"):
        # Jinja's own arguments (column lists of macros, e.g. 'correct') are not SQL literals
        text = re.sub(r"\{\{.*?\}\}|\{%.*?%\}", "", path.read_text(), flags=re.DOTALL)
        assert not [n for n in names if f"'{n}'" in text], path


def test_no_view_names_a_model_kind_the_kinds_table_says_which_judge():
    from rb_pipeline.core.kinds import KINDS
    from rb_pipeline.warehouse.views import SQL_DIR, catalog_tables

    for path in SQL_DIR.rglob("*.sql"):
        text = path.read_text(encoding="utf-8")
        assert not [kind for kind in KINDS if f"'{kind}'" in text], path
    kinds = catalog_tables({}, ensembles={})["model_kinds"]
    # the built-in kinds' declarations (core.kinds; a test module may have declared more)
    assert {kind: (judged, steps) for kind, judged, steps in kinds.rows()}.items() >= {
        "classifier": (False, False),
        "dpo": (False, False),
        "pairwise-judge": (True, False),
        "generative": (True, False),
        "prm": (False, True),  # prm_step_scores reads these
    }.items()


def test_section_chart_is_a_png_of_the_section_scores(warehouse):
    from rb_pipeline.warehouse.plots import markdown_image, section_chart
    from rb_pipeline.warehouse.sql_rules import query_sql

    sections = query(query_sql("report/section_coverage"), warehouse)  # what the warehouse asset charts
    png = section_chart(sections)
    assert png.startswith(b"\x89PNG\r\n\x1a\n") and len(png) > 2000
    assert markdown_image(png, "chart").startswith("![chart](data:image/png;base64,iVBOR")


def test_subset_heatmap_draws_each_models_accuracies():

    from rb_pipeline.warehouse.plots import subset_heatmap

    hand_made = pl.DataFrame(
        {
            "model": ["m1", "m1", "m2"],  # m2 has no score on b/s2: a blank cell, not a zero
            "benchmark": ["b", "b", "b"],
            "subset": ["s1", "s2", "s1"],
            "score": [0.25, 1.0, 0.5],  # subset_accuracy's score (the accuracy, or e.g. a Ties score)
        }
    )
    png = subset_heatmap(hand_made)
    assert png.startswith(b"\x89PNG\r\n\x1a\n") and len(png) > 2000
    changed = subset_heatmap(hand_made.with_columns(score=pl.Series([0.25, 1.0, 0.9])))
    assert changed != png  # the colours follow the numbers


def test_a_copied_catalog_entry_adds_its_leaderboard_columns(rb_home):
    """Columns are data: a benchmark YAML copied under a new name (its columns renamed) reaches the
    leaderboard and its history with no code change."""
    import yaml

    from rb_pipeline.catalog.entries import CATALOG_DIR, load_benchmarks, user_benchmarks_dir

    entry = yaml.safe_load((CATALOG_DIR / "benchmarks" / "rm-bench.yaml").read_text(encoding="utf-8"))
    entry["benchmark"] = "rm-bench-copy"
    entry["overall"] = {"name": "rm-bench-copy", "column": "copy_overall"}
    entry["sections"] = {
        name: {**section, "column": f"copy_{section['column']}"}
        for name, section in entry["sections"].items()
    }
    user_benchmarks_dir().mkdir(parents=True)
    (user_benchmarks_dir() / "rm-bench-copy.yaml").write_text(yaml.safe_dump(entry), encoding="utf-8")

    path = build_warehouse(load_benchmarks())
    expected = [
        "copy_overall",
        "copy_rm_bench_chat",
        "copy_rm_bench_math",
        "copy_rm_bench_code",
        "copy_rm_bench_safety",
    ]
    for view in ("leaderboard", "leaderboard_history"):
        columns = query(f"select * from {view} limit 0", path).columns
        assert all(column in columns for column in expected), (view, columns)
        assert columns[columns.index("rm_bench") : columns.index("rm_bench") + 5] == [
            "rm_bench",
            "rm_bench_chat",
            "rm_bench_math",
            "rm_bench_code",
            "rm_bench_safety",
        ]


def test_offline_ensemble_is_scored_from_stored_scores_by_the_same_rules(hand_made_catalog, rb_home):
    """`ensemble:m1+m2` (mean) and its zmean twin, from the members' stored scores: no scoring, rows in
    every view, numbers by hand."""
    import numpy as np

    catalog = hand_made_catalog
    write_hand_made_lake({"m1": {"r2": ("complete", ["hm"], False)}})
    # m2's scores per response (example-position): chosen first, as in HAND_MADE_EXAMPLES
    m2 = {"e1": [0.0, 3.0], "e2": [2.0, 0.0], "e3": [0.0, 0.0, 0.0], "e5": [0.0, 5.0], "e6": [0.0, 5.0, 1.0]}
    m2_scores = {f"{e}-{i}": s for e, scores in m2.items() for i, s in enumerate(scores)}
    write_scores("m2", "r9", m2_scores)
    write_run_row("m2", "r9", ["hm"], datetime(2026, 3, 1, tzinfo=UTC))
    (rb_home / "ensembles.yaml").write_text(
        "ensembles:\n  - {members: [m1, m2]}\n  - {members: [m1, m2], combine: zmean}\n", encoding="utf-8"
    )
    path = build_warehouse(catalog)

    # mean of (m1, m2): e1 chosen 1.0 vs 2.0: wrong; e2 1.5 vs 0.5: right; e3 1.5 vs (0.5, 1.45): right;
    # e5 0 vs 2: wrong; e6 chosen (5 + 0) / 2 = 2.5 and (1 + 5) / 2 = 3 vs (2 + 1) / 2 = 1.5: right
    credits = query(
        "select example_id, credit from example_outcomes where model = 'ensemble:m1+m2' order by 1", path
    )
    assert credits.rows() == [("e1", 0.0), ("e2", 1.0), ("e3", 1.0), ("e5", 0.0), ("e6", 1.0)]
    # a1 = 1/2, a2 = 1, b1 = 1/2: A = (0.5 x 3 + 1) / 4 = 0.625, B = 0.5; overall (A + B) / 2 = 0.5625
    row = one("select * from leaderboard where model = 'ensemble:m1+m2'", path)
    assert (row["chat"], row["safety"], row["rewardbench"]) == (0.625, 0.5, 0.5625)
    assert row["provenance"] == "ensemble"
    assert query("select count(*) from scores where model like 'ensemble:%'", path).item() == 0

    # zmean: each member's z-scores over the 11 `hm` responses, averaged; the rule then as any model's
    m1_scores = {f"{e}-{i}": s for _, _, e, c, r in HAND_MADE_EXAMPLES[:5] for i, s in enumerate(c + r)}
    z = {}
    for scores in (m1_scores, m2_scores):
        values = np.array(list(scores.values()))
        for rid, score in scores.items():
            z.setdefault(rid, []).append((score - values.mean()) / values.std())
    zmean = {rid: float(np.mean(v)) for rid, v in z.items()}
    stored = dict(
        query("select response_id, score from ensemble_scores where model like '%:zmean'", path).rows()
    )
    assert stored == pytest.approx(zmean, abs=1e-12)
    expected = [
        min(zmean[f"{e}-{i}"] for i in range(len(c))) > max(zmean[f"{e}-{len(c) + i}"] for i in range(len(r)))
        for _, _, e, c, r in HAND_MADE_EXAMPLES[:5]
    ]
    correct = query(
        "select correct from example_outcomes where model = 'ensemble:m1+m2:zmean' order by example_id", path
    )
    assert correct["correct"].to_list() == expected


def test_every_named_rule_is_written_once_in_sql():
    """Each per-example rule of catalog.RULES has exactly one branch of the `credit(rule)` macro, no other
    SQL file names a rule in a branch, and the rules a YAML may name are the declared ones but the judges';
    each aggregation of catalog.AGGREGATIONS has one branch in the section macro."""
    from rb_pipeline.catalog.entries import AGGREGATIONS, JUDGE_RULES, RULES, subset_rules
    from rb_pipeline.warehouse.views import SQL_DIR

    sql = {path.name: path.read_text(encoding="utf-8") for path in SQL_DIR.rglob("*.sql")}
    for name in RULES:
        places = [file for file, text in sql.items() for _ in range(text.count(f"rule == '{name}'"))]
        assert places == ["rules.sql"], (name, places)
        assert not [file for file, text in sql.items() if f"when rule = '{name}'" in text], name
    assert subset_rules() == [name for name in RULES if name not in JUDGE_RULES]
    macros = sql["rules.sql"]
    for name in AGGREGATIONS:
        assert macros.count(f"aggregation == '{name}'") == 1, name


def test_a_run_reads_only_the_scores_of_its_own_settings_key(hand_made_catalog, rb_home):
    """run_scores: a run reads what it computed, then what its (model, settings key) computed in other
    runs, never the scores of another settings key (issue 29, mutant 1: a max_length-256 run read every
    score of a max_length-8 run)."""
    write_hand_made_lake({})  # the examples and responses only
    every = [f"{e}-{i}" for _, _, e, c, r in HAND_MADE_EXAMPLES for i in range(len(c) + len(r))]
    assert len(every) == 18  # 2 + 2 + 3 + 2 + 3 + 2 + 2 + 2 responses
    # r8: settings key k8 scored all 18 responses; r256 (key k256) scored only e1's two;
    # r256-again (k256, later) computed nothing and reuses r256's two scores
    write_scores("m", "r8", dict.fromkeys(every, 8.0), settings_key="k8")
    write_scores("m", "r256", {"e1-0": 256.0, "e1-1": 255.0}, settings_key="k256")
    for day, (run_id, key) in enumerate([("r8", "k8"), ("r256", "k256"), ("r256-again", "k256")], 1):
        write_run_row("m", run_id, ["hm", "hm-prior"], datetime(2026, 1, day, tzinfo=UTC), settings_key=key)
    path = build_warehouse(hand_made_catalog)
    read = query(
        "select run_id, response_id, score, scored_in_run, reused from run_scores order by all", path
    )
    by_run = {run_id: group.drop("run_id").rows() for (run_id,), group in read.group_by("run_id")}
    assert by_run["r256"] == [("e1-0", 256.0, "r256", False), ("e1-1", 255.0, "r256", False)]
    assert by_run["r256-again"] == [("e1-0", 256.0, "r256", True), ("e1-1", 255.0, "r256", True)]
    assert len(by_run["r8"]) == 18 and {row[1] for row in by_run["r8"]} == {8.0}
    # so r256's other examples are unscored (no outcome), never judged on k8's scores
    outcomes = query(
        "select example_id, correct from example_outcomes_history where run_id = 'r256' order by 1", path
    )
    assert outcomes.rows()[0] == ("e1", True)  # 256 > 255
    assert {correct for _, correct in outcomes.rows()[1:]} == {None}


def test_a_broken_lake_or_warehouse_file_says_to_rebuild(warehouse, rb_home):
    """Issue 28 wording: a cut lake Parquet file or a broken warehouse gave DuckDB's error alone."""
    from rb_pipeline.core.paths import lake_dir, warehouse_path
    from rb_pipeline.warehouse.views import QueryError

    run_file = sorted(lake_dir("runs").glob("*.parquet"))[0]  # run records are not hash-checked
    run_file.write_bytes(run_file.read_bytes()[:40])
    with pytest.raises(QueryError, match=r"run `rb-pipeline warehouse --rebuild`\)$"):
        query("select count(*) from runs")
    warehouse_path().write_bytes(b"not a duckdb file" * 1000)
    with pytest.raises(QueryError, match=r"\.duckdb: .*run `rb-pipeline warehouse --rebuild`\)$"):
        query("select 1")
