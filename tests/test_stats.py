"""Bootstrap intervals and the paired comparison, on hand-made tables with numbers computed by hand.

The SQL of `sql/paired_comparison.sql` and the bootstrap step run here over small tables standing in
for the views they read (`example_outcomes`; `subset_accuracy`, `subset_weights`, `sections`), so
each test sets exactly the counts it checks; one test runs both through a real warehouse build.
"""

from __future__ import annotations

from fractions import Fraction
from math import comb

import duckdb
import polars as pl
import pytest

from rb_pipeline.catalog import Benchmark
from rb_pipeline.stats import (
    BOOTSTRAP_SEED,
    N_RESAMPLES,
    add_confidence_intervals,
    bootstrap_intervals,
    subset_resamples,
)
from rb_pipeline.warehouse import SQL_DIR, build_warehouse, query
from tests.test_views import HAND_MADE_CATALOG, write_hand_made_lake

# ---------------------------------------------------------------- paired comparison (McNemar)


def paired(counts: dict[str, tuple[int, int, int, int]]) -> pl.DataFrame:
    """paired_comparison over an `example_outcomes` table of two models, A and B, on benchmark `bm`:
    per subset (both right, only A right, only B right, both wrong) examples."""
    rows = []
    for subset, groups in counts.items():
        for (a, b), count in zip([(1, 1), (1, 0), (0, 1), (0, 0)], groups, strict=True):
            for i in range(count):
                example_id = f"{subset}-{a}{b}-{i}"
                rows += [("A", "bm", subset, example_id, bool(a)), ("B", "bm", subset, example_id, bool(b))]
    outcomes = pl.DataFrame(  # noqa: F841 (read by DuckDB by name)
        rows, schema=["model", "benchmark", "subset", "example_id", "correct"], orient="row"
    ).with_columns(margin=pl.lit(None, pl.Float64))
    con = duckdb.connect()
    con.execute("create table example_outcomes as select * from outcomes")
    con.execute(f"create view paired_comparison as {(SQL_DIR / 'paired_comparison.sql').read_text()}")
    return con.sql("select * from paired_comparison where model_a = 'A' order by subset").pl()


def exact_mcnemar(a_only: int, b_only: int) -> float:
    """2 x P(X <= min) for X ~ Binomial(a_only + b_only, 1/2), capped at 1, in exact fractions."""
    n, k = a_only + b_only, min(a_only, b_only)
    return float(min(Fraction(1), 2 * Fraction(sum(comb(n, i) for i in range(k + 1)), 2**n)))


def test_mcnemar_exact_p_value_by_hand():
    row = paired({"s": (3, 1, 6, 2)}).row(0, named=True)
    assert (row["n_both"], row["a_only"], row["b_only"]) == (12, 1, 6)
    # 2 x P(X <= 1 | n = 7, 1/2) = 2 x (1 + 7) / 128 = 0.125
    assert row["p_value"] == pytest.approx(0.125, rel=1e-12)
    assert row["accuracy_a"] == pytest.approx(4 / 12) and row["accuracy_b"] == pytest.approx(9 / 12)


def test_mcnemar_is_symmetric_and_one_without_discordant_pairs():
    frame = paired({"s1": (2, 0, 0, 3), "s2": (0, 3, 3, 0)})
    assert frame["p_value"].to_list() == [1.0, 1.0]  # no discordant pair; 3 vs 3: 2 x 42/64 capped at 1
    con_rows = paired({"s": (0, 6, 1, 0)}).row(0, named=True)
    assert con_rows["p_value"] == pytest.approx(0.125, rel=1e-12)


@pytest.mark.parametrize("a_only,b_only", [(0, 1), (0, 5), (2, 9), (10, 25), (40, 60), (150, 170)])
def test_mcnemar_matches_exact_binomial_fractions(a_only, b_only):
    row = paired({"s": (0, a_only, b_only, 0)}).row(0, named=True)
    assert row["p_value"] == pytest.approx(exact_mcnemar(a_only, b_only), rel=1e-9)


def test_holm_adjustment_across_subsets_of_a_pair_and_benchmark():
    # p: s1 = 2 x 1/2^6 = 1/32 (0 vs 6), s2 = 0.125 (1 vs 6), s3 = 1 (no discordant pair)
    frame = paired({"s1": (0, 0, 6, 0), "s2": (0, 1, 6, 0), "s3": (4, 0, 0, 0)})
    assert frame["p_value"].to_list() == pytest.approx([1 / 32, 0.125, 1.0])
    # Holm (m = 3), ascending p: 3 x 1/32 = 0.09375; max(0.09375, 2 x 0.125) = 0.25; max(0.25, 1) = 1
    assert frame["p_adjusted"].to_list() == pytest.approx([0.09375, 0.25, 1.0])


# ---------------------------------------------------------------- bootstrap intervals


SECTIONS_SCHEMA = {
    "benchmark": pl.String,
    "section": pl.String,
    "overall": pl.String,
    "overall_column": pl.String,
    "overall_weight": pl.Float64,
    "required": pl.Boolean,
}


def bootstrap(
    accuracy: list[tuple[str, str, str, int, float]],
    weights: list[tuple[str, str, str | None, float | None]],
    sections: list[tuple[str, str, str | None, str | None, float, bool]],
    **kwargs,
) -> pl.DataFrame:
    """bootstrap_intervals over stand-in tables (model, benchmark, subset, n, accuracy), (benchmark,
    subset, section, weight) and the `sections` rows."""
    subset_accuracy = pl.DataFrame(  # noqa: F841 (read by DuckDB by name)
        accuracy, schema=["model", "benchmark", "subset", "n", "accuracy"], orient="row"
    )
    subset_weights = pl.DataFrame(  # noqa: F841
        weights, schema=["benchmark", "subset", "section", "weight"], orient="row"
    )
    sections_table = pl.DataFrame(sections, schema=SECTIONS_SCHEMA, orient="row")  # noqa: F841
    con = duckdb.connect()
    con.execute("create table subset_accuracy as select * from subset_accuracy")
    con.execute("create table subset_weights as select * from subset_weights")
    con.execute("create table sections as select * from sections_table")
    return bootstrap_intervals(con, **kwargs)


CATALOG_WEIGHTS = [
    ("b", "s1", "A", 3.0),
    ("b", "s2", "A", 1.0),
    ("b", "s3", "B", 1.0),
    ("b", "x", None, None),
]
CATALOG_SECTIONS = [("b", "A", "all", "total", 1.0, True), ("b", "B", "all", "total", 0.5, False)]


def level(frame: pl.DataFrame, name: str, **keys: str) -> dict:
    rows = frame.filter(pl.col("level") == name, *[pl.col(k) == v for k, v in keys.items()])
    assert rows.height == 1, rows
    return rows.row(0, named=True)


def test_degenerate_subsets_have_degenerate_intervals():
    frame = bootstrap(
        [("m", "b", "s1", 20, 1.0), ("m", "b", "s2", 10, 0.0), ("m", "b", "s3", 5, 1.0)],
        CATALOG_WEIGHTS,
        CATALOG_SECTIONS,
    )
    s1 = level(frame, "subset", subset="s1")
    assert (s1["estimate"], s1["ci_low"], s1["ci_high"]) == (1.0, 1.0, 1.0)
    s2 = level(frame, "subset", subset="s2")
    assert (s2["ci_low"], s2["ci_high"]) == (0.0, 0.0)
    # section A = (1 x 3 + 0 x 1) / 4 = 0.75 in every resample
    a = level(frame, "section", section="A")
    assert (a["estimate"], a["ci_low"], a["ci_high"], a["n"]) == (0.75, 0.75, 0.75, 30)
    # overall = (0.75 x 1 + 1 x 0.5) / 1.5 = 5/6 in every resample
    total = level(frame, "overall", overall="all")
    assert total["estimate"] == pytest.approx(5 / 6)
    assert (total["ci_low"], total["ci_high"]) == pytest.approx((5 / 6, 5 / 6))
    assert (total["column_name"], total["n"]) == ("total", 35)


def test_half_right_subset_of_fifty_has_an_interval_of_about_plus_minus_0_14():
    frame = bootstrap([("m", "b", "s1", 50, 0.5)], CATALOG_WEIGHTS, CATALOG_SECTIONS)
    row = level(frame, "subset", subset="s1")
    assert row["ci_low"] < 0.5 < row["ci_high"]
    # normal approximation: 1.96 x sqrt(0.5 x 0.5 / 50) = 0.139
    assert row["ci_low"] == pytest.approx(0.5 - 0.14, abs=0.025)
    assert row["ci_high"] == pytest.approx(0.5 + 0.14, abs=0.025)
    assert (row["n_resamples"], row["seed"]) == (N_RESAMPLES, BOOTSTRAP_SEED) and N_RESAMPLES >= 1000


def test_intervals_are_deterministic_and_independent_of_other_models():
    one = bootstrap([("m", "b", "s1", 50, 0.5), ("m", "b", "s3", 30, 0.6)], CATALOG_WEIGHTS, CATALOG_SECTIONS)
    again = bootstrap(
        [("m", "b", "s1", 50, 0.5), ("m", "b", "s3", 30, 0.6), ("other", "b", "s1", 40, 0.9)],
        CATALOG_WEIGHTS,
        CATALOG_SECTIONS,
    )
    assert again.filter(pl.col("model") == "m").equals(one)
    rows = pl.DataFrame(
        [("m", "b", "s1", 50, 0.5)], schema=["model", "benchmark", "subset", "n", "accuracy"], orient="row"
    )
    first, second = (subset_resamples(rows, 1000, seed) for seed in (BOOTSTRAP_SEED, BOOTSTRAP_SEED))
    assert (first == second).all()
    assert not (subset_resamples(rows, 1000, 7) == first).all()
    # the binomial shortcut: mean k/n, variance p(1 - p)/n of resampling 50 examples with replacement
    assert first.mean() == pytest.approx(0.5, abs=0.01)
    assert first.std() == pytest.approx((0.25 / 50) ** 0.5, rel=0.1)


def test_overall_interval_is_null_without_a_required_section():
    # only B (not required) scored: the overall is NULL, as in overall_scores
    frame = bootstrap([("m", "b", "s3", 10, 0.5)], CATALOG_WEIGHTS, CATALOG_SECTIONS)
    total = level(frame, "overall", overall="all")
    assert (total["estimate"], total["ci_low"], total["ci_high"]) == (None, None, None)
    # a subset in no section gets an interval but feeds no section
    frame = bootstrap([("m", "b", "x", 10, 0.5)], CATALOG_WEIGHTS, CATALOG_SECTIONS)
    assert frame["level"].to_list() == ["subset"]


def test_section_interval_combines_subset_resamples_with_catalog_weights():
    frame = bootstrap(
        [("m", "b", "s1", 200, 0.8), ("m", "b", "s2", 40, 0.5)], CATALOG_WEIGHTS, CATALOG_SECTIONS
    )
    a = level(frame, "section", section="A")
    assert a["estimate"] == pytest.approx((0.8 * 3 + 0.5) / 4)
    # sd = sqrt(9 x 0.8 x 0.2 / 200 + 0.5 x 0.5 / 40) / 4 = sqrt(0.01345) / 4 = 0.0290;
    # width = 2 x 1.96 x sd = 0.114 (normal approximation)
    assert a["ci_high"] - a["ci_low"] == pytest.approx(0.114, abs=0.01)


def test_warehouse_intervals_match_the_views(rb_home):
    catalog = {name: Benchmark.model_validate(raw) for name, raw in HAND_MADE_CATALOG.items()}
    write_hand_made_lake({"m1": {"r2": ("complete", ["hm", "hm-prior"], False)}})
    path = build_warehouse(catalog)
    mismatches = query(
        """select 'subset' as level, ci.subset as name from subset_accuracy_ci as ci
           full join subset_accuracy as view using (model, benchmark, subset)
           where ci.estimate is distinct from view.accuracy or ci.n is distinct from view.n
              or not ci.estimate between ci.ci_low and ci.ci_high
           union all
           select 'section', ci.section from section_scores_ci as ci
           full join section_scores as view using (model, benchmark, section)
           where abs(ci.estimate - view.score) > 1e-12 or ci.estimate is null or view.score is null
              or ci.n is distinct from view.n_examples
           union all
           select 'overall', ci.overall from overall_scores_ci as ci
           full join overall_scores as view using (overall, model)
           where abs(ci.estimate - view.score) > 1e-12 or (ci.estimate is null) <> (view.score is null)""",
        path,
    )
    assert mismatches.is_empty(), mismatches
    assert query("select count(*) as n from overall_scores_ci", path)["n"][0] == 1
    # the same build again draws the same intervals
    first = query("select * from bootstrap_ci order by all", path)
    build_warehouse(catalog)
    assert query("select * from bootstrap_ci order by all", path).equals(first)


def test_add_confidence_intervals_replaces_the_table(rb_home):
    catalog = {name: Benchmark.model_validate(raw) for name, raw in HAND_MADE_CATALOG.items()}
    write_hand_made_lake({"m1": {"r2": ("complete", ["hm", "hm-prior"], False)}})
    path = build_warehouse(catalog)
    with duckdb.connect(str(path)) as con:
        before = con.execute("select count(*) from bootstrap_ci").fetchall()[0][0]
        assert add_confidence_intervals(con, n_resamples=1000, seed=1) == before
        assert con.execute("select count(*), min(n_resamples), min(seed) from bootstrap_ci").fetchall()[
            0
        ] == (
            before,
            1000,
            1,
        )
