"""`rb-pipeline compare` and `report` in-process over the hand-made reproduction lake of
tests/warehouse/test_answers.py: what the summary says, and one-line errors."""

from __future__ import annotations

import pytest

from rb_pipeline.catalog.entries import Benchmark
from rb_pipeline.cli import main
from rb_pipeline.warehouse.views import build_warehouse
from tests.hand_made import HAND_MADE_CATALOG
from tests.warehouse.test_answers import LOCAL, PUBLISHED, write_computed, write_examples, write_imported


@pytest.fixture
def lake(rb_home):
    write_examples()
    write_imported("m", "r-pub", PUBLISHED, day=1)
    write_computed("m", "r-local", LOCAL, day=2)
    build_warehouse({"hm": Benchmark.model_validate(HAND_MADE_CATALOG["hm"])})
    return rb_home


def test_compare_prints_agreement_and_the_disagreements(lake, capsys):
    assert main(["compare", "m", "r-pub", "--format", "csv"]) == 0
    out = capsys.readouterr().out
    # a1: 4 of 6 agree, a2: 0 of 5 -> 4/11; 7 differ: y1..y5 (margin change -2) first, then x4, x5
    assert "4/11 examples agree; 7 differ" in out
    assert "hm,a2,5,0.0,1.0,0.0,1.0,1.0,1.0,0.0625,0.125" in out
    assert out.index("y1") < out.index("x4") < out.index("x5")
    assert "select * from flips where run_a in ('r-local') and run_b in ('r-pub')" in out


def test_compare_and_report_fail_in_one_line(lake, capsys):
    assert main(["compare", "m", "nope"]) == 2
    assert "nope: neither a complete run id nor a model with a complete run" in capsys.readouterr().err
    assert main(["report", "--model", "ghost", "--out", str(lake / "site")]) == 2
    assert "ghost: no such model in the warehouse" in capsys.readouterr().err


def test_report_writes_the_site(lake, capsys):
    assert main(["report", "--out", str(lake / "site")]) == 0
    assert capsys.readouterr().out.strip() == str(lake / "site" / "index.html")
    assert (lake / "site" / "models" / "m.html").is_file()


def test_suspects_lists_and_exports_with_texts(lake, capsys):
    # one model scored each example: with --min-models 1, the examples m gets wrong (weight = its accuracy
    # on the rest of the subset > 0) are suspect: x5 and x6 (a1; a2 is all right)
    assert main(["suspects", "--min-models", "1"]) == 0
    out = capsys.readouterr().out
    assert "x5" in out and "x6" in out and "(2 rows)" in out
    assert main(["suspects", "--min-models", "1", "--out", str(lake / "suspects.csv")]) == 0
    text = (lake / "suspects.csv").read_text()
    assert "good x5" in text and "bad x6" in text
    assert main(["suspects"]) == 0  # the catalog's 5 models: none
    assert "(0 rows)" in capsys.readouterr().out
