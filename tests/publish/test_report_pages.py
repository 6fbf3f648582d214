"""The report's pages over the hand-made reproduction lake of tests/warehouse/test_answers.py (a local run
of `m`, its imported published file, a second local run): what each page lists, read from the HTML."""

from __future__ import annotations

import re

import pytest

from rb_pipeline.catalog.entries import Benchmark
from rb_pipeline.publish.report import write_report
from rb_pipeline.warehouse.views import build_warehouse
from tests.hand_made import HAND_MADE_CATALOG
from tests.warehouse.test_answers import LOCAL, PUBLISHED, write_computed, write_examples, write_imported


@pytest.fixture
def site(rb_home, tmp_path):
    catalog = {"hm": Benchmark.model_validate(HAND_MADE_CATALOG["hm"])}
    write_examples()
    write_imported("m", "r-pub", PUBLISHED, day=1)
    write_computed("m", "r-local", LOCAL, day=2)
    # a second local run: x6 now right (gained), y1 now wrong (lost)
    write_computed("m", "r-local-2", LOCAL | {"x6": 0.5, "y1": -0.5}, day=3)
    write_computed("other", "r-other", LOCAL, day=2)
    write_imported("published-only", "r-pub-only", PUBLISHED, day=1)  # an imported model, never run here
    index = write_report(tmp_path / "site", path=build_warehouse(catalog))
    return index.parent


def cells(html: str, table: str) -> list[list[str]]:
    """The text of each body row's cells of the table with id `table`."""
    body = re.search(rf'<table id="{table}".*?<tbody>(.*?)</tbody>', html, re.S).group(1)
    rows = re.findall(r"<tr>(.*?)</tr>", body, re.S)
    return [
        [re.sub(r"<[^>]+>", "", cell) for cell in re.findall(r"<td[^>]*>(.*?)</td>", row, re.S)]
        for row in rows
    ]


def test_pages_and_assets_are_written(site):
    names = sorted(p.relative_to(site).as_posix() for p in site.rglob("*") if p.is_file())
    assert {
        "index.html",
        "compare.html",
        "flips.html",
        "suspects.html",
        "models/m.html",
        "models/other.html",
    } <= set(names)
    assert {"assets/tablesort.min.js", "assets/tablesort.number.min.js", "images/sections.png"} <= set(names)
    # pages link their scripts relatively, so the folder opens from disk anywhere
    assert 'src="../assets/tablesort.min.js"' in (site / "models" / "m.html").read_text()


def test_compare_page_lists_the_local_run_against_the_published_file(site):
    html = (site / "compare.html").read_text()
    # the latest local run r-local-2 against r-pub: x4 lost (local right), x5 (published right), x6 now
    # right locally and wrong in the file, y2..y5 right locally only; y1 wrong in both
    listed = sorted(row[3] for row in cells(html, "disagreements"))
    assert listed == ["x4", "x5", "x6", "y2", "y3", "y4", "y5"]
    assert {row[4] for row in cells(html, "compare")} == {"a1", "a2"}


def test_flips_page_lists_the_changes_since_the_previous_run(site):
    rows = cells((site / "flips.html").read_text(), "flips")
    # model, previous run, latest run, benchmark, subset, example, change
    assert sorted((row[0], row[1], row[2], row[5], row[6]) for row in rows) == [
        ("m", "r-local", "r-local-2", "x6", "gained"),
        ("m", "r-local", "r-local-2", "y1", "lost"),
    ]


def test_model_page_has_subsets_with_intervals_and_the_published_model(site):
    html = (site / "models" / "other.html").read_text()
    subsets = {row[1]: row for row in cells(html, "subsets")}
    # other's a1: x1..x4 right of 6 = 0.6667, its interval in brackets; beside it the imported-only
    # model's a1 (x1, x2, x3, x5 right: 4/6); m's latest run is computed, so m is not "published"
    assert subsets["a1"][3].startswith("0.6667 [")
    assert subsets["a1"][6] == "published-only 0.6667"
