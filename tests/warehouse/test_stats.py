"""Bootstrap intervals and the paired comparison, on hand-made tables with numbers computed by hand.

The SQL of `sql/paired_comparison.sql` runs here over a small table standing in for
`example_outcomes`, so each test sets exactly the counts it checks. The bootstrap (stratified by subset,
seeded) runs through real warehouse builds of hand-made lakes and is pinned against
`scipy.stats.bootstrap` (percentile method; several samples = resampled independently = stratified).
"""

from __future__ import annotations

from datetime import UTC, datetime
from fractions import Fraction
from math import comb

import duckdb
import numpy as np
import polars as pl
import pytest
from scipy import stats as scipy_stats

from rb_pipeline.catalog.entries import Benchmark
from rb_pipeline.warehouse.stats import (
    BOOTSTRAP_SEED,
    N_RESAMPLES,
    add_confidence_intervals,
    resampled_clusters,
    resampled_means,
    stream_seed,
)
from rb_pipeline.warehouse.views import SQL_DIR, build_warehouse, query, render_sql, sql_context
from tests.hand_made import (
    example_row,
    response_row,
    rewardbench_ties_score,
    write_dataset,
    write_hand_made_lake,
    write_run_row,
    write_scores,
)

# ---------------------------------------------------------------- paired comparison (McNemar)


def paired(counts: dict[str, tuple[int, int, int, int]], benchmark: str = "bm") -> pl.DataFrame:
    """paired_comparison over an `example_outcomes` table of two models, A and B, on one benchmark:
    per subset (both right, only A right, only B right, both wrong) examples."""
    return paired_over({benchmark: counts})


def paired_over(counts: dict[str, dict[str, tuple[int, int, int, int]]]) -> pl.DataFrame:
    """paired_comparison over models A and B: per benchmark, per subset (both right, only A right,
    only B right, both wrong) examples; rows ordered by benchmark and subset."""
    rows = []
    for benchmark, subsets in counts.items():
        for subset, groups in subsets.items():
            for (a, b), count in zip([(1, 1), (1, 0), (0, 1), (0, 0)], groups, strict=True):
                for i in range(count):
                    example_id = f"{subset}-{a}{b}-{i}"
                    rows += [
                        ("A", benchmark, subset, example_id, bool(a)),
                        ("B", benchmark, subset, example_id, bool(b)),
                    ]
    outcomes = pl.DataFrame(  # noqa: F841 (read by DuckDB by name)
        rows, schema=["model", "benchmark", "subset", "example_id", "correct"], orient="row"
    ).with_columns(margin=pl.lit(None, pl.Float64))
    con = duckdb.connect()
    con.execute("create table example_outcomes as select * from outcomes")
    sql = render_sql(SQL_DIR, sql_context({}))["paired_comparison"]  # its macros rendered
    con.execute(f"create view paired_comparison as {sql}")
    return con.sql("select * from paired_comparison where model_a = 'A' order by benchmark, subset").pl()


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


def test_holm_keeps_the_running_maximum():
    """Holm's step-down is monotone: an adjusted p never falls below the one before it (issue 29,
    mutant 2: without the running maximum the second subset below would get 0.078125)."""
    # p: s1 = 2 x 1/2^6 = 1/32 (0 vs 6); s2 (1 vs 8, n = 9) = 2 x (C(9,0) + C(9,1)) / 2^9
    #    = 2 x 10 / 512 = 0.0390625; s3 = 1 (no discordant pair)
    frame = paired({"s1": (0, 0, 6, 0), "s2": (0, 1, 8, 0), "s3": (4, 0, 0, 0)})
    assert frame["p_value"].to_list() == pytest.approx([1 / 32, 0.0390625, 1.0], rel=1e-12)
    # m = 3: 3 x 1/32 = 0.09375; 2 x 0.0390625 = 0.078125, raised to the running maximum 0.09375; 1
    assert frame["p_adjusted"].to_list() == pytest.approx([0.09375, 0.09375, 1.0], rel=1e-12)


def test_holm_family_is_one_benchmark_of_one_model_pair():
    """Two benchmarks are two families (issue 29, mutant 3: one family of 3 across both would give
    3 x 1/32 for bm1/s1)."""
    frame = paired_over({"bm1": {"s1": (0, 0, 6, 0)}, "bm2": {"s1": (0, 1, 6, 0), "s2": (4, 0, 0, 0)}})
    assert frame.select("benchmark", "subset").rows() == [("bm1", "s1"), ("bm2", "s1"), ("bm2", "s2")]
    # bm1: one test, m = 1: 1/32 unadjusted. bm2: p = 0.125 (1 vs 6) and 1: m = 2: 2 x 0.125 = 0.25, 1
    assert frame["p_adjusted"].to_list() == pytest.approx([1 / 32, 0.25, 1.0], rel=1e-12)


# ---------------------------------------------------------------- bootstrap intervals

# benchmark `bs`: section S = s1 (weight 3, strict) + s2 (weight 1, rb2-top-share: 1/k credit), section
# T = t1 (Ties rule); overall `all` = (S + T) / 2. Expected rows = the sizes written below.
BOOT_CATALOG = {
    "benchmark": "bs",
    "title": "bootstrap (hand-made)",
    "kind": "best-of-n",
    "overall": {"name": "all", "column": "boot_all"},
    "local": [{"format": "rewardbench", "path": "unused.jsonl"}],
    "sections": {"S": {"title": "S", "column": "boot_s"}, "T": {"title": "T", "column": "boot_t"}},
    "subsets": {
        "s1": {"section": "S", "weight": 3, "expected_rows": 60},
        "s2": {"section": "S", "weight": 1, "expected_rows": 40, "rule": "rb2-top-share"},
        "t1": {"section": "T", "weight": 1, "rule": "rb2-ties"},
    },
}
S1 = [1.0] * 42 + [0.0] * 18  # strict: 42 of 60 right
# best-of-4 (chosen score 1.0 against three rejected): the share of the top is 1, 1/2, 1/3 or 0
S2 = {1.0: 20, 1 / 2: 8, 1 / 3: 6, 0.0: 6}
RNG = np.random.default_rng(5)
# Ties: 30 prompts, each a `ref` (1 correct vs 2) and a `tied` (2 correct vs 2) row, random scores
TIES = [
    (
        "t1",
        f"t1/{kind}:{prompt}",
        list(RNG.normal(0.6, 1.0, 1 if kind == "ref" else 2)),
        list(RNG.normal(0, 1, 2)),
    )
    for prompt in range(30)
    for kind in ("ref", "tied")
]


def boot_rows() -> list[tuple[str, str, list[float], list[float]]]:
    """(subset, example_id, chosen scores, rejected scores) giving S1, S2 and TIES."""
    rows = [("s1", f"s1/{i}", [1.0], [0.0] if right else [2.0]) for i, right in enumerate(S1)]
    tops = {1.0: [0.0, 0.0, 0.0], 1 / 2: [1.0, 0.0, 0.0], 1 / 3: [1.0, 1.0, 0.0], 0.0: [2.0, 0.0, 0.0]}
    index = 0
    for credit, count in S2.items():
        for _ in range(count):
            rows.append(("s2", f"s2/{index}", [1.0], tops[credit]))
            index += 1
    return rows + TIES


def write_boot_lake(model: str = "m", run_id: str = "r1") -> None:
    examples, responses, scores = [], [], {}
    for subset, example_id, chosen, rejected in boot_rows():
        examples.append(example_row("bs", subset, example_id, [{"role": "user", "content": example_id}]))
        for position, (label, score) in enumerate(
            [("chosen", c) for c in chosen] + [("rejected", r) for r in rejected]
        ):
            rid = f"{example_id}-{position}"
            responses.append(response_row("bs", example_id, rid, position, rid, label))
            scores[rid] = float(score)
    write_dataset("bs", examples, responses)
    write_scores(model, run_id, scores)
    write_run_row(model, run_id, ["bs"], datetime(2026, 1, 1, tzinfo=UTC))


@pytest.fixture
def boot_warehouse(rb_home):
    write_boot_lake()
    return build_warehouse({"bs": Benchmark.model_validate(BOOT_CATALOG)})


def s2_credits() -> np.ndarray:
    return np.concatenate([np.full(count, credit) for credit, count in S2.items()])


def ties_score(prompts: np.ndarray) -> float:
    """The Ties score of the drawn prompts (rewardbench's rule, transcribed), each draw its own prompt."""
    by_prompt = [(TIES[2 * p], TIES[2 * p + 1]) for p in range(30)]
    rows = []
    for copy, prompt in enumerate(prompts):
        for subset, example_id, chosen, rejected in by_prompt[int(prompt)]:
            kind = example_id.split("/")[1].split(":")[0]
            rows.append((subset, f"t1/{kind}:{copy}", chosen, rejected))
    return rewardbench_ties_score(rows)


def scipy_interval(samples: tuple, statistic, vectorized: bool = True) -> tuple[float, float]:
    result = scipy_stats.bootstrap(
        samples, statistic, vectorized=vectorized, paired=False, method="percentile",
        n_resamples=20000 if vectorized else 4000, rng=np.random.default_rng(11),
    )  # fmt: skip
    return float(result.confidence_interval.low), float(result.confidence_interval.high)


def ci(path, view: str, **keys: str) -> dict:
    where = " and ".join(f"{k} = '{v}'" for k, v in keys.items())
    frame = query(f"select * from {view} where {where}", path)
    assert frame.height == 1, frame
    return frame.row(0, named=True)


def test_subset_intervals_match_scipy_bootstrap(boot_warehouse):
    """Each subset resamples its own examples' credits (fractional credit included)."""
    for subset, credits in (("s1", np.array(S1)), ("s2", s2_credits())):
        row = ci(boot_warehouse, "subset_accuracy_ci", subset=subset)
        assert row["estimate"] == pytest.approx(credits.mean(), abs=1e-12)  # s1 0.7; s2 (20+4+2)/40 = 0.65
        low, high = scipy_interval((credits,), np.mean)
        assert (row["ci_low"], row["ci_high"]) == pytest.approx((low, high), abs=0.012)
        assert (row["n_resamples"], row["seed"]) == (N_RESAMPLES, BOOTSTRAP_SEED)


def test_ties_interval_resamples_prompts_and_matches_scipy(boot_warehouse):
    row = ci(boot_warehouse, "subset_accuracy_ci", subset="t1")
    assert row["estimate"] == pytest.approx(ties_score(np.arange(30)), abs=1e-12)
    low, high = scipy_interval((np.arange(30),), ties_score, vectorized=False)
    assert (row["ci_low"], row["ci_high"]) == pytest.approx((low, high), abs=0.02)


def test_section_and_overall_intervals_are_stratified_bootstraps(boot_warehouse):
    """scipy.stats.bootstrap with several samples resamples each one on its own: the strata."""
    s1, s2 = np.array(S1), s2_credits()
    section = ci(boot_warehouse, "section_scores_ci", section="S")
    assert section["estimate"] == pytest.approx((3 * 0.7 + 0.65) / 4, abs=1e-12)  # 0.6875
    low, high = scipy_interval((s1, s2), lambda a, b, axis: (3 * a.mean(axis) + b.mean(axis)) / 4)
    assert (section["ci_low"], section["ci_high"]) == pytest.approx((low, high), abs=0.012)
    assert section["n"] == 60 + 40

    def overall(a, b, prompts):
        return ((3 * np.mean(a) + np.mean(b)) / 4 + ties_score(prompts)) / 2

    total = ci(boot_warehouse, "overall_scores_ci", overall="all")
    assert total["estimate"] == pytest.approx(overall(s1, s2, np.arange(30)), abs=1e-12)
    low, high = scipy_interval((s1, s2, np.arange(30)), overall, vectorized=False)
    assert (total["ci_low"], total["ci_high"]) == pytest.approx((low, high), abs=0.015)


def test_all_ties_subset_has_no_spread():
    """A judge that ties everything scores 0.5 with certainty: resampling examples gives [0.5, 0.5],
    where drawing Binomial(n, 0.5), as before, gave about 0.5 +- 0.14 for n = 50."""
    rng = np.random.Generator(np.random.PCG64(stream_seed(BOOTSTRAP_SEED, "m", "b", "s")))
    means = resampled_means(np.full(50, 0.5), 2000, rng)
    assert means.min() == means.max() == 0.5


def test_resampling_is_seeded_per_subset_and_independent_of_other_models(rb_home):
    write_boot_lake()
    catalog = {"bs": Benchmark.model_validate(BOOT_CATALOG)}
    first = query("select * from bootstrap_ci order by all", build_warehouse(catalog))
    write_boot_lake("other", "r2")  # the same examples, another model
    again = query("select * from bootstrap_ci where model = 'm' order by all", build_warehouse(catalog))
    # equal up to the last bits of DuckDB's parallel sums
    assert again.drop("ci_low", "ci_high", "estimate").equals(first.drop("ci_low", "ci_high", "estimate"))
    for column in ("estimate", "ci_low", "ci_high"):
        assert again[column].to_list() == pytest.approx(first[column].to_list(), abs=1e-12)
    rows = pl.DataFrame({"prompt_id": ["1", "1", "2"], "x": [1, 2, 3]})
    drawn = resampled_clusters(rows, 3, np.random.default_rng(0))
    # a drawn prompt brings all its rows, and each copy gets its own prompt id. The draws, by hand: numpy's
    # default_rng(0).integers(0, 2, size=(3, 2)) is [[1, 1], [1, 0], [0, 0]] (cluster 0 = prompt "1" with
    # 2 rows, 1 = prompt "2" with 1 row): 1 + 1, 1 + 2 and 2 + 2 rows = 9
    assert drawn.height == 9
    copies = drawn.group_by("resample").agg(pl.col("prompt_id").unique().sort()).sort("resample")
    assert copies["prompt_id"].to_list() == [["2#0", "2#1"], ["1#1", "2#0"], ["1#0", "1#1"]]
    for (_, prompt_id), group in drawn.group_by("resample", "prompt_id"):
        assert group["x"].sort().to_list() in ([1, 2], [3]), prompt_id


def test_overall_interval_is_null_where_the_score_is(hand_made_catalog, rb_home):
    catalog = hand_made_catalog
    # m2 scored `hm` only: an overall; its prior set section is not required
    write_hand_made_lake(
        {"m1": {"r2": ("complete", ["hm-prior"], False)}, "m2": {"r4": ("complete", ["hm"], False)}}
    )
    path = build_warehouse(catalog)
    rows = {r["model"]: r for r in query("select * from overall_scores_ci", path).to_dicts()}
    assert (rows["m1"]["estimate"], rows["m1"]["ci_low"], rows["m1"]["ci_high"]) == (None, None, None)
    # m2: (A + B) / 2 = (0.625 + 0.5) / 2 = 0.5625 (tests/warehouse/test_views.py, by hand)
    assert rows["m2"]["estimate"] == pytest.approx(0.5625, abs=1e-12)
    assert rows["m2"]["ci_low"] <= rows["m2"]["estimate"] <= rows["m2"]["ci_high"]


def test_warehouse_intervals_match_the_views(hand_made_catalog, rb_home):
    catalog = hand_made_catalog
    write_hand_made_lake({"m1": {"r2": ("complete", ["hm", "hm-prior"], False)}})
    path = build_warehouse(catalog)
    mismatches = query(
        """select 'subset' as level, ci.subset as name from subset_accuracy_ci as ci
           full join subset_accuracy as view using (model, benchmark, subset)
           where ci.estimate is distinct from view.score or ci.n is distinct from view.n
              or not ci.estimate between ci.ci_low and ci.ci_high
           union all
           select 'section', ci.section from section_scores_ci as ci
           full join section_scores as view using (model, benchmark, section)
           where ci.estimate is distinct from view.score or ci.n is distinct from view.n_examples
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


def test_add_confidence_intervals_replaces_the_table(hand_made_catalog, rb_home):
    catalog = hand_made_catalog
    write_hand_made_lake({"m1": {"r2": ("complete", ["hm", "hm-prior"], False)}})
    path = build_warehouse(catalog)
    with duckdb.connect(str(path)) as con:
        before = con.execute("select count(*) from bootstrap_ci").fetchall()[0][0]
        assert add_confidence_intervals(con, n_resamples=1000, seed=1) == before
        counts = con.execute("select count(*), min(n_resamples), min(seed) from bootstrap_ci").fetchall()[0]
        assert counts == (before, 1000, 1)
