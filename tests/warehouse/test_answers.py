"""The answer views (reproduction_diff, flips, suspect_labels, judge_health, the leaderboard's new
columns) over hand-made lakes, each number worked out by hand in a comment. The McNemar and Holm rules
they share with paired_comparison are pinned against scipy and statsmodels here too."""

from __future__ import annotations

from datetime import UTC, datetime

import duckdb
import numpy as np
import polars as pl
import pytest
from scipy import stats as scipy_stats
from statsmodels.stats.multitest import multipletests

from rb_pipeline.catalog.entries import Benchmark
from rb_pipeline.core.lake import write_parquet
from rb_pipeline.core.paths import lake_dir
from rb_pipeline.core.schemas import IMPORTED_METRICS_SCHEMA, IMPORTED_OUTCOMES_SCHEMA, JUDGMENTS_SCHEMA
from rb_pipeline.warehouse import answers
from rb_pipeline.warehouse.sql_rules import sql_environment
from rb_pipeline.warehouse.views import build_warehouse, connect, query
from tests.hand_made import (
    HAND_MADE_CATALOG,
    example_row,
    response_row,
    write_dataset,
    write_run_row,
    write_scores,
)

# Hand-made benchmark `hm` (the hand-made catalog's, suspect_min_models 4): one chosen and one rejected
# response per example; a1: x1..x6, a2: y1..y5, b1: z1..z5.
EXAMPLES = {"a1": ["x1", "x2", "x3", "x4", "x5", "x6"], "a2": ["y1", "y2", "y3", "y4", "y5"]}
EXAMPLES["b1"] = ["z1", "z2", "z3", "z4", "z5"]


@pytest.fixture
def catalog() -> dict[str, Benchmark]:
    return {"hm": Benchmark.model_validate(HAND_MADE_CATALOG["hm"] | {"suspect_min_models": 4})}


def write_examples() -> None:
    examples, responses = [], []
    for subset, ids in EXAMPLES.items():
        for example_id in ids:
            examples.append(example_row("hm", subset, example_id))
            responses += [
                response_row("hm", example_id, f"{example_id}-0", 0, f"good {example_id}", "chosen"),
                response_row("hm", example_id, f"{example_id}-1", 1, f"bad {example_id}", "rejected"),
            ]
    write_dataset("hm", examples, responses)


def write_computed(model: str, run_id: str, margins: dict[str, float], day: int, **columns: object) -> None:
    """A computed run: chosen scores `margin`, rejected 0, so margin = chosen - rejected; right iff > 0."""
    scores = {f"{e}-{i}": (m if i == 0 else 0.0) for e, m in margins.items() for i in (0, 1)}
    write_scores(model, run_id, scores)
    write_run_row(model, run_id, ["hm"], datetime(2026, 1, day, tzinfo=UTC), **columns)


def write_imported(model: str, run_id: str, margins: dict[str, float], day: int) -> None:
    """An imported per-example file's rows (hand-made, in the importer's imported_outcomes layout)."""
    subset_of = {e: s for s, ids in EXAMPLES.items() for e in ids}
    rows = [
        {
            "model": model,
            "run_id": run_id,
            "benchmark": "hm",
            "subset": subset_of[e],
            "example_id": e,
            "correct": m > 0,
            "margin": m,
            "credit": float(m > 0),
            "chosen_spread": None,
        }
        for e, m in margins.items()
    ]
    write_parquet(
        pl.DataFrame(rows, schema=IMPORTED_OUTCOMES_SCHEMA),
        lake_dir("imported_outcomes", f"{run_id}.parquet"),
    )
    # and its per-subset metrics, as the importer writes them beside the outcomes
    metrics = (
        pl.DataFrame(rows)
        .group_by("model", "run_id", "benchmark", "subset")
        .agg(n=pl.len(), accuracy=pl.col("credit").mean())
        .with_columns(score=pl.lit(None, pl.Float64))  # only rb2-ties has a score that is not an accuracy
    )
    write_parquet(
        metrics.select(*IMPORTED_METRICS_SCHEMA).cast(IMPORTED_METRICS_SCHEMA),
        lake_dir("imported_metrics", f"{run_id}.parquet"),
    )
    write_run_row(model, run_id, ["hm"], datetime(2026, 1, day, tzinfo=UTC), provenance="imported")


# local run of m: x1..x4 right (margin 1), x5, x6 wrong (-1); y1..y5 right (1)
LOCAL = {"x1": 1.0, "x2": 1.0, "x3": 1.0, "x4": 1.0, "x5": -1.0, "x6": -1.0} | dict.fromkeys(
    EXAMPLES["a2"], 1.0
)
# the published file: x1, x2, x3 right, x4 wrong, x5 right, x6 wrong; y1..y5 all wrong (-1)
PUBLISHED = {"x1": 2.0, "x2": 1.0, "x3": 0.5, "x4": -0.5, "x5": 0.25, "x6": -1.0} | dict.fromkeys(
    EXAMPLES["a2"], -1.0
)


@pytest.fixture
def reproduction(catalog, rb_home):
    write_examples()
    write_imported("m", "r-pub", PUBLISHED, day=1)
    write_computed("m", "r-local", LOCAL, day=2)
    return build_warehouse(catalog)


def test_reproduction_diff_by_hand(reproduction):
    frame = query(
        "select * from reproduction_diff where run_a = 'r-local' and run_b = 'r-pub' order by subset",
        reproduction,
    )
    a1, a2 = frame.to_dicts()
    # a1: agree on x1, x2, x3, x6 (4 of 6); only local right: x4; only published right: x5
    assert (a1["n_both"], a1["n_agree"], a1["a_only"], a1["b_only"]) == (6, 4, 1, 1)
    assert a1["agreement"] == pytest.approx(4 / 6)
    assert a1["accuracy_a"] == pytest.approx(4 / 6) and a1["accuracy_b"] == pytest.approx(4 / 6)
    # difference (1 - 1) / 6 = 0; half width 1.959964 x sqrt((2/6 - 0) / 6) = 1.959964 x 0.2357023 = 0.4619679
    assert a1["difference"] == 0.0
    assert a1["difference_high"] == pytest.approx(0.4619679, rel=1e-6)
    assert a1["difference_low"] == pytest.approx(-0.4619679, rel=1e-6)
    # McNemar 1 vs 1: 2 x P(X <= 1 | n=2) = 2 x 3/4, capped at 1
    assert a1["p_value"] == 1.0
    # a2: local right on all 5, published on none: a_only 5; p = 2 x (1/2)^5 = 0.0625
    assert (a2["n_both"], a2["a_only"], a2["b_only"], a2["agreement"]) == (5, 5, 0, 0.0)
    assert a2["difference"] == 1.0
    # half width 1.96 x sqrt((5/5 - 1) / 5) = 0: every example moved the same way
    assert a2["difference_low"] == pytest.approx(1.0) and a2["difference_high"] == pytest.approx(1.0)
    assert a2["p_value"] == pytest.approx(0.0625)
    # Holm, m = 2: a2 (p 0.0625) x 2 = 0.125; a1: max(0.125, 1 x 1.0) = 1
    assert (a2["p_adjusted"], a1["p_adjusted"]) == (pytest.approx(0.125), 1.0)
    # largest margin change in a1: x5 from -1 to 0.25 and x4 from 1 to -0.5 (1.5 each), x1 1 -> 2 (1)
    assert a1["largest_margin_change"] == pytest.approx(1.5)


def test_flips_list_the_changed_examples(reproduction):
    flips = query(
        "select example_id, change, margin_change from flips where run_a = 'r-local' and run_b = 'r-pub' "
        "order by example_id",
        reproduction,
    )
    assert flips.rows() == [
        ("x4", "lost", -1.5),
        ("x5", "gained", 1.25),
        *[(e, "lost", -2.0) for e in EXAMPLES["a2"]],
    ]


def test_compare_names_runs_by_id_or_model(reproduction):
    with connect(path=reproduction) as con:
        assert answers.run_ids(con, "m") == ["r-local"]  # the model's latest (computed) run
        assert answers.run_ids(con, "r-pub") == ["r-pub"]
        assert answers.previous_run(con, "m", "hm") is None  # an imported file is no previous computed run
        summary, flipped = answers.compare(con, "m", "r-pub")
        with pytest.raises(ValueError, match="nope: neither"):
            answers.run_ids(con, "nope")
    assert summary["subset"].to_list() == ["a1", "a2"]
    # the largest margin change first: y1..y5 (-2) ahead of x4 (-1.5) and x5 (1.25)
    assert flipped["example_id"].to_list()[:5] == EXAMPLES["a2"]
    assert flipped["example_id"].to_list()[5:] == ["x4", "x5"]


def test_previous_run_is_the_last_one_of_the_same_provenance(reproduction, catalog):
    write_computed("m", "r-local-2", LOCAL, day=3)
    with connect(path=build_warehouse(catalog)) as con:
        assert answers.run_ids(con, "m") == ["r-local-2"]
        assert answers.previous_run(con, "m", "hm") == "r-local"


# suspect labels: per model, right (1) or wrong (0) on z1..z5; z5's label is planted flipped: the three
# models that are right elsewhere get it wrong
MATRIX = {
    "m1": [1, 1, 1, 1, 0],
    "m2": [1, 1, 1, 0, 0],
    "m3": [1, 1, 0, 1, 0],
    "m4": [0, 1, 1, 1, 1],
}


@pytest.fixture
def planted(catalog, rb_home):
    write_examples()
    for day, (model, row) in enumerate(MATRIX.items(), start=1):
        margins = {e: (1.0 if right else -1.0) for e, right in zip(EXAMPLES["b1"], row, strict=True)}
        write_computed(model, f"run-{model}", margins, day)
    # a null baseline wrong everywhere does not count as a model
    write_computed("null", "run-null", dict.fromkeys(EXAMPLES["b1"], -1.0), 9, model_type="baseline")
    return build_warehouse(catalog)


def test_suspect_labels_find_the_planted_flip(planted):
    frame = query("select * from suspect_labels order by example_id", planted)
    by_id = {row["example_id"]: row for row in frame.to_dicts()}
    assert by_id["z5"]["n_models"] == 4 and by_id["z5"]["n_wrong"] == 3
    # weights = accuracy on the rest of b1: m1 4/4, m2 3/4, m3 3/4, m4 (4 - 1)/4 = 3/4;
    # wrong: m1, m2, m3 -> (1 + 0.75 + 0.75) / (1 + 0.75 + 0.75 + 0.75) = 2.5 / 3.25
    assert by_id["z5"]["weighted_wrong"] == pytest.approx(2.5 / 3.25)
    # z1: wrong for m4 only, weight 4/4; the others (4-1)/4, (3-1)/4, (3-1)/4 -> 1 / 2.75
    assert by_id["z1"]["weighted_wrong"] == pytest.approx(1 / 2.75)
    # z4: wrong for m2 only, weight 3/4; others 3/4, 2/4, 3/4 -> 0.75 / 2.75
    assert by_id["z4"]["weighted_wrong"] == pytest.approx(0.75 / 2.75)
    assert [e for e, row in by_id.items() if row["suspect"]] == ["z5"]  # 4 models >= the catalog's 4


def test_suspects_export_with_texts_and_a_threshold(planted, tmp_path):
    with connect(path=planted) as con:
        found = answers.suspects(con)
        assert answers.suspects(con, min_models=5).height == 0  # only 4 models scored z5
    assert found["example_id"].to_list() == ["z5"]
    assert found.row(0, named=True)["chosen"] == ["good z5"]
    path = answers.export_suspects(found, tmp_path / "suspects.jsonl")
    assert pl.read_ndjson(path)["rejected"].to_list() == [["bad z5"]]


def write_matrix_run(model: str, day: int) -> None:
    """The model's row of MATRIX as a computed run on b1: right: margin 1, wrong: margin -1."""
    write_computed(
        model,
        f"run-{model}",
        {e: 1.0 if r else -1.0 for e, r in zip(EXAMPLES["b1"], MATRIX[model], strict=True)},
        day,
    )


def test_suspect_labels_is_a_table_an_update_recomputes(catalog, rb_home):
    from rb_pipeline.warehouse.update import update_warehouse

    write_examples()
    for day, model in enumerate(["m1", "m2", "m3"], start=1):
        write_matrix_run(model, day)
    path = update_warehouse(catalog).path  # a full build that records its inputs
    kinds = query(
        "select table_type from information_schema.tables where table_name = 'suspect_labels'", path
    )
    assert kinds["table_type"].to_list() == ["BASE TABLE"]  # stored, not computed per query
    z5 = "select n_models, n_wrong, suspect from suspect_labels where example_id = 'z5'"
    # m1..m3 are all wrong on z5, but 3 models are below the catalog's 4
    assert query(z5, path).row(0) == (3, 3, False)
    write_matrix_run("m4", 4)  # m4 arrives: the update computes its contributions, then re-sums
    update = update_warehouse(catalog)
    assert update.mode == "incremental", update.reason
    assert update.models == ("m4",)
    assert query(z5, path).row(0) == (4, 3, True)  # as test_suspect_labels_find_the_planted_flip
    # m4's contributions (MATRIX: wrong on z1 only): weight on z1 (4 - 0) / 4, elsewhere (4 - 1) / 4
    m4 = "select example_id, is_right, weight from suspect_contributions where model = 'm4' order by 1"
    assert query(m4, path).rows() == [("z1", 0, 1.0)] + [(z, 1, 0.75) for z in ("z2", "z3", "z4", "z5")]
    # the updated tables are the full rebuild's, bit for bit (suspect_labels' sums are exact)
    rebuilt = update_warehouse(catalog, path=path.with_name("rebuilt.duckdb"), rebuild=True).path
    for table in ("suspect_labels", "suspect_contributions"):
        assert query(f"select * from {table} order by all", path).equals(
            query(f"select * from {table} order by all", rebuilt)
        )


def judgment(
    run_id: str, example_id: str, order: str, verdict: str, raw: str | None, too_long: int = 0
) -> dict:
    chosen, rejected = f"{example_id}-0", f"{example_id}-1"
    first, second = (chosen, rejected) if order == "chosen_first" else (rejected, chosen)
    return {
        "model": "judge",
        "run_id": run_id,
        "settings_key": "k",
        "benchmark": "hm",
        "example_id": example_id,
        "response_a_id": first,
        "response_b_id": second,
        "pair_order": order,
        "sampled": order == "chosen_first",
        "judge": 0,
        "judge_model": "judge",
        "verdict": verdict,
        "raw_output": raw,
        "judge_score": None,
        "n_tokens": 10,
        "truncated_tokens": too_long,
        "reused": False,
    }


def test_judge_health_counts_and_flags(catalog, rb_home):
    write_examples()
    rows = [
        # x1: the chosen wins in both orders (consistent)
        judgment("j1", "x1", "chosen_first", "A", "[[A]]"),
        judgment("j1", "x1", "rejected_first", "B", "[[B]]"),
        # x2: an unreadable reply, then a tie
        judgment("j1", "x2", "chosen_first", "error", "I cannot decide"),
        judgment("j1", "x2", "rejected_first", "tie", "[[C]]"),
        # y1 (a2): too long to judge in both orders
        judgment("j1", "y1", "chosen_first", "error", None, too_long=5),
        judgment("j1", "y1", "rejected_first", "error", None, too_long=5),
    ]
    write_parquet(
        pl.DataFrame(rows, schema=JUDGMENTS_SCHEMA), lake_dir("judgments", "judge", "j1", "part-0.parquet")
    )
    write_run_row("judge", "j1", ["hm"], datetime(2026, 1, 1, tzinfo=UTC), model_type="generative")
    path = build_warehouse(catalog)
    frame = query("select * from judge_health order by subset", path).to_dicts()
    a1, a2 = frame
    # a1: 4 calls, 1 unparseable, 0 errors, 1 tie: failure rate 1/4 > 0.05; orders agree on x1, not x2
    assert (a1["n_calls"], a1["unparseable"], a1["errors"], a1["ties"]) == (4, 1, 0, 1)
    assert (a1["failure_rate"], a1["order_agreement"], a1["flagged"]) == (0.25, 0.5, True)
    # a2: 2 calls, both errors (too long)
    assert (a2["n_calls"], a2["unparseable"], a2["errors"], a2["failure_rate"]) == (2, 0, 2, 1.0)
    board = query("select judge_flags from leaderboard where model = 'judge'", path)
    assert board["judge_flags"].to_list() == ["hm/a1 (25.0% failed); hm/a2 (100.0% failed)"]


def test_leaderboard_names_subsets_below_the_best_null(planted):
    # the baseline is wrong on all of b1 (0.0); m1 scores 4/5 there: above it, so nothing is listed;
    # no model is below 0.0 on b1
    board = query("select model, below_null from leaderboard order by model", planted)
    assert board.filter(pl.col("model") == "m1")["below_null"].to_list() == [None]


# ---------------------------------------------------------------- the shared tests against libraries


def render_stats(call: str) -> str:
    """One macro of sql/macros/stats.sql as SQL."""
    return (
        sql_environment()
        .from_string("{% import 'macros/stats.sql' as stats %}{{ stats." + call + " }}")
        .render()
    )


@pytest.mark.parametrize("a_only,b_only", [(0, 1), (1, 6), (7, 3), (25, 40), (150, 170)])
def test_mcnemar_macro_matches_scipy_binomtest(a_only, b_only):
    sql = render_stats(f"mcnemar_p_value('{a_only}', '{b_only}')")
    ((p,),) = duckdb.connect().execute(f"select {sql}").fetchall()
    assert p == pytest.approx(scipy_stats.binomtest(a_only, a_only + b_only, 0.5).pvalue, rel=1e-9)


def test_holm_macro_matches_statsmodels():
    p_values = [0.01, 0.04, 0.03, 0.2, 0.005]
    tests = pl.DataFrame({"family": ["f"] * 5, "name": list("abcde"), "p": p_values})  # noqa: F841
    sql = render_stats("holm_adjusted('tests', 'p', ['family'], 'name')")
    got = duckdb.connect().sql(f"select name, p_adjusted from ({sql}) order by name").pl()
    expected = multipletests(p_values, method="holm")[1]
    assert got["p_adjusted"].to_list() == pytest.approx(list(expected))


# ---------------------------------------------------------------- rank groups


def test_rank_groups_tell_apart_what_differs_and_tie_the_twins(catalog, rb_home):
    write_examples()
    everything = [e for ids in EXAMPLES.values() for e in ids]
    half = {"x1", "x2", "x3", "y1", "y2", "z1", "z2"}  # the twins' right answers: 3/6, 2/5, 2/5
    write_computed("best", "r-best", dict.fromkeys(everything, 1.0), day=1)
    write_computed("twin1", "r-twin1", {e: 1.0 if e in half else -1.0 for e in everything}, day=1)
    write_computed("twin2", "r-twin2", {e: 1.0 if e in half else -1.0 for e in everything}, day=1)
    write_computed("worst", "r-worst", dict.fromkeys(everything, -1.0), day=1)
    path = build_warehouse(catalog)
    ranks = query("select model, rank, tied, n_indistinguishable from rank_groups order by model", path)
    # best beats everyone in every resample: p = 0 (the twins' resamples are never all right: at most
    # (1/2)^6 x (2/5)^5 x (2/5)^5 of them); the twins are identical on every resample: p = 1, so they share
    # rank 2; worst is below three models that differ from it: rank 4
    assert ranks.rows() == [
        ("best", 1, False, 0),
        ("twin1", 2, True, 1),
        ("twin2", 2, True, 1),
        ("worst", 4, False, 0),
    ]
    board = query("select model, rank_groups from leaderboard order by model", path)
    assert board["rank_groups"].to_list() == [
        "rewardbench #1",
        "rewardbench #2 (tied)",
        "rewardbench #2 (tied)",
        "rewardbench #4",
    ]


def test_pair_p_values_are_two_sided_bootstrap_shares():
    from rb_pipeline.warehouse.ranks import pair_p_values

    # resamples x models: A - B = [1, 1, -1, 0]: share <= 0 is 2/4, share >= 0 is 3/4 -> p = 2 x 0.5 = 1;
    # A - C = [1, 1, 1, 1]: share <= 0 is 0 -> p = 0
    scores = np.array([[2.0, 1.0, 1.0], [2.0, 1.0, 1.0], [1.0, 2.0, 0.0], [1.0, 1.0, 0.0]])
    p = pair_p_values(scores)
    assert p[0, 1] == 1.0 and p[0, 2] == 0.0 and p[1, 0] == 1.0


def test_an_update_past_the_rank_limit_says_ranks_need_a_rebuild(catalog, rb_home, monkeypatch):
    from rb_pipeline.warehouse import ranks
    from rb_pipeline.warehouse.update import update_warehouse

    write_examples()
    everything = [e for ids in EXAMPLES.values() for e in ids]
    write_computed("best", "r-best", dict.fromkeys(everything, 1.0), day=1)
    write_computed("worst", "r-worst", dict.fromkeys(everything, -1.0), day=1)
    path = update_warehouse(catalog).path  # a full build that records its inputs
    assert query("select count(*) as n from rank_groups", path)["n"].item() == 2
    # a third model arrives; an update recomputes ranks only up to UPDATE_MAX_MODELS (here 2) models
    monkeypatch.setattr(ranks, "UPDATE_MAX_MODELS", 2)
    write_computed(
        "middle", "r-middle", {e: 1.0 if e in {"x1", "y1", "z1"} else -1.0 for e in everything}, day=2
    )
    update = update_warehouse(catalog)
    assert update.mode == "incremental", update.reason
    board = query("select model, rank_groups from leaderboard order by model", path)
    stale = "not computed since the last update: rb-pipeline warehouse --rebuild"
    assert board["rank_groups"].to_list() == [stale, stale, stale]
