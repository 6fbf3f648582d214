"""A scoring rule is one entry (catalog.RULES: its name and prose) plus one branch of the `credit(rule)`
macro (sql/macros/rules.sql): declared here from the test alone, a subset names it, and the warehouse
scores it, on hand-made rows (not benchmark data)."""

from __future__ import annotations

import shutil
from datetime import UTC, datetime

import pytest

from rb_pipeline.catalog.entries import RULES, Benchmark, CatalogError, load_benchmarks
from rb_pipeline.warehouse import sql_rules
from rb_pipeline.warehouse.views import build_warehouse, query
from tests.hand_made import example_row, response_row, write_dataset, write_run_row, write_scores

RULE = "hm-quarter-tie"
PROSE = "hand-made: 1 when the chosen beats every rejected, 0 when one beats it, 0.25 for a tie"
BRANCH = f"""{{%- elif rule == '{RULE}' -%}}
case when n_lost > 0 then 0.0 when n_tied > 0 then 0.25 else 1.0 end
"""
CATALOG = {
    "benchmark": "hm-rule",
    "title": "hand-made rule",
    "kind": "preference",
    "local": [{"format": "rewardbench", "path": "unused.jsonl"}],
    "sections": {"all": {"title": "All", "column": "hm_rule"}},
    "subsets": {"A": {"section": "all", "weight": 1, "rule": RULE}},
}
# (example id, chosen score, rejected score): won 1, tied 0.25, lost 0
ROWS = [("A/1", 2.0, 1.0), ("A/2", 1.0, 1.0), ("A/3", 0.0, 1.0)]
ACCURACY_BY_HAND = (1 + 0.25 + 0) / 3


@pytest.fixture
def new_rule(tmp_path, monkeypatch):
    """The rule declared: its entry in RULES and its branch in a copy of sql/ (the views read that copy)."""
    sql_dir = tmp_path / "sql"
    shutil.copytree(sql_rules.SQL_DIR, sql_dir)
    macros = sql_dir / "macros" / "rules.sql"
    text = macros.read_text(encoding="utf-8")
    fallback = "{%- else -%}\n{{ raise_unknown_rule(rule) }}"
    assert text.count(fallback) == 1
    macros.write_text(text.replace(fallback, BRANCH + fallback), encoding="utf-8")
    monkeypatch.setattr(sql_rules, "SQL_DIR", sql_dir)
    monkeypatch.setitem(RULES, RULE, PROSE)


def test_an_undeclared_rule_is_refused_naming_the_file_and_key(tmp_path, monkeypatch, rb_home):
    (tmp_path / "benchmarks").mkdir()
    (tmp_path / "benchmarks" / "hm.yaml").write_text(
        "benchmark: hm-rule\ntitle: t\nkind: preference\nlocal: [{format: rewardbench, path: x.jsonl}]\n"
        f"subsets: {{A: {{rule: {RULE}}}}}\n",
        encoding="utf-8",
    )
    with pytest.raises(
        CatalogError, match=rf"hm.yaml: subsets.A.rule: unknown rule '{RULE}': expected one of"
    ):
        load_benchmarks(tmp_path)


def test_a_rule_from_one_entry_and_one_macro_branch_is_scored(new_rule, rb_home):
    examples, responses, scores = [], [], {}
    for example_id, chosen, rejected in ROWS:
        examples.append(example_row("hm-rule", "A", example_id))
        for position, (label, score) in enumerate((("chosen", chosen), ("rejected", rejected))):
            response_id = f"{example_id}-{position}"
            responses.append(
                response_row("hm-rule", example_id, response_id, position, f"answer {position}", label)
            )
            scores[response_id] = score
    write_dataset("hm-rule", examples, responses)
    write_scores("m", "r1", scores)
    write_run_row("m", "r1", ["hm-rule"], datetime(2026, 1, 1, tzinfo=UTC))
    warehouse = build_warehouse({"hm-rule": Benchmark.model_validate(CATALOG)})

    credits = query("select example_id, credit from example_outcomes order by example_id", warehouse)
    assert credits.rows() == [("A/1", 1.0), ("A/2", 0.25), ("A/3", 0.0)]
    (accuracy,) = query("select accuracy from subset_accuracy", warehouse)["accuracy"]
    assert accuracy == pytest.approx(ACCURACY_BY_HAND)  # (1 + 0.25 + 0) / 3
    (definition,) = query(f"select definition from scoring_rules where rule = '{RULE}'", warehouse)[
        "definition"
    ]
    assert definition == PROSE  # the prose, from its one place
