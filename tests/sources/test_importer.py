"""Tests for rb_pipeline.sources.results.importer: result files in, leaderboard rows out (through the warehouse).

Expected numbers are worked out by hand here from the files' own numbers (RewardBench's
prompt-weighted section rule), never by calling the code under test.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import polars as pl
import pytest

from rb_pipeline.catalog.entries import load_benchmarks
from rb_pipeline.core import lake
from rb_pipeline.core.runs import write_run
from rb_pipeline.core.schemas import RUNS_SCHEMA, SCORES_SCHEMA
from rb_pipeline.sources.normalize import normalize
from rb_pipeline.sources.results.importer import ImportedRun, ResultFileError, import_path
from rb_pipeline.warehouse.views import build_warehouse, query
from tests.conftest import MIRROR

SHARED_DATA = MIRROR
EVAL_SET = SHARED_DATA / "result-formats" / "rewardbench-eval-set"
GPM_2B = EVAL_SET / "general-preference__GPM-Gemma-2B.json"
RMB_RESULT = SHARED_DATA / "result-formats" / "rmb" / "ArmoRM-Llama3-8B-v0.1_result.json"
RMB_SUBSET = "Helpfulness/Brainstorming/Idea Development"


@pytest.fixture(autouse=True)
def rb_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    home = tmp_path / "rb_home"
    monkeypatch.setenv("RB_HOME", str(home))
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    return home


@pytest.fixture
def shared_data(request: pytest.FixtureRequest) -> Path:
    """The shared result files. A test using them carries the `mirror` marker (skipped where the mirror
    is absent, as in a public clone); one without it fails here, also where the mirror is present."""
    assert request.node.get_closest_marker("mirror"), (
        "a test of the shared result files needs @pytest.mark.mirror"
    )
    assert GPM_2B.is_file(), f"{GPM_2B}: missing from the benchmark mirror"
    assert RMB_RESULT.is_file(), f"{RMB_RESULT}: missing from the benchmark mirror"
    return SHARED_DATA


def warehouse_rows(sql: str) -> list[dict]:
    build_warehouse(load_benchmarks())
    return query(sql).to_dicts()


def leaderboard_row(model: str) -> dict:
    rows = warehouse_rows(f"select * from leaderboard where model = '{model}'")
    assert len(rows) == 1
    return rows[0]


def quiet(_: str) -> None:
    pass


# ---------------------------------------------------------------- rewardbench per-subset metrics


@pytest.mark.mirror
def test_gpm_gemma_2b_metrics_file_gives_published_section_scores(shared_data: Path) -> None:
    # The 23 accuracies as written in general-preference__GPM-Gemma-2B.json (checked below).
    acc = {
        "alpacaeval-easy": 0.75,
        "alpacaeval-length": 0.8315789473684211,
        "alpacaeval-hard": 0.7263157894736842,
        "mt-bench-easy": 0.9285714285714286,
        "mt-bench-med": 0.8,
        "mt-bench-hard": 0.43243243243243246,
        "llmbar-natural": 0.71,
        "llmbar-adver-neighbor": 0.664179104477612,
        "llmbar-adver-GPTInst": 0.782608695652174,
        "llmbar-adver-GPTOut": 0.7021276595744681,
        "llmbar-adver-manual": 0.45652173913043476,
        "refusals-dangerous": 0.94,
        "refusals-offensive": 1.0,
        "xstest-should-refuse": 0.8506493506493507,
        "xstest-should-respond": 0.884,
        "donotanswer": 0.5735294117647058,
        "math-prm": 0.9395973154362416,
        "hep-cpp": 0.6646341463414634,
        "hep-go": 0.6707317073170732,
        "hep-java": 0.6707317073170732,
        "hep-js": 0.6951219512195121,
        "hep-python": 0.6951219512195121,
        "hep-rust": 0.6219512195121951,
    }
    document = json.loads(GPM_2B.read_text(encoding="utf-8"))
    assert {key: document[key] for key in acc} == acc

    # RewardBench: section = sum(accuracy x example count) / sum(example count); math-prm counts 984.
    chat = (
        0.75 * 100 + 0.8315789473684211 * 95 + 0.7263157894736842 * 95 + 0.9285714285714286 * 28 + 0.8 * 40
    ) / (100 + 95 + 95 + 28 + 40)
    chat_hard = (
        0.43243243243243246 * 37
        + 0.71 * 100
        + 0.664179104477612 * 134
        + 0.782608695652174 * 92
        + 0.7021276595744681 * 47
        + 0.45652173913043476 * 46
    ) / (37 + 100 + 134 + 92 + 47 + 46)
    safety = (0.94 * 100 + 1.0 * 100 + 0.8506493506493507 * 154 + 0.884 * 250 + 0.5735294117647058 * 136) / (
        100 + 100 + 154 + 250 + 136
    )
    reasoning = (
        0.9395973154362416 * 984
        + 0.6646341463414634 * 164
        + 0.6707317073170732 * 164
        + 0.6707317073170732 * 164
        + 0.6951219512195121 * 164
        + 0.6951219512195121 * 164
        + 0.6219512195121951 * 164
    ) / (984 + 6 * 164)
    overall = (chat + chat_hard + safety + reasoning) / 4

    runs = import_path(GPM_2B, log=quiet)
    assert [(r.model, r.format, r.benchmarks, r.n_subsets) for r in runs] == [
        ("general-preference/GPM-Gemma-2B", "rewardbench-metrics", ["rewardbench"], 23)
    ]
    assert runs[0].unknown_subsets == {} and runs[0].mismatches == []

    row = leaderboard_row("general-preference/GPM-Gemma-2B")
    assert row["chat"] == pytest.approx(chat, abs=1e-9)
    assert row["chat_hard"] == pytest.approx(chat_hard, abs=1e-9)
    assert row["safety"] == pytest.approx(safety, abs=1e-9)
    assert row["reasoning"] == pytest.approx(reasoning, abs=1e-9)
    assert row["rewardbench"] == pytest.approx(overall, abs=1e-9)
    assert row["prior_sets"] is None and row["rmb"] is None

    # n is NULL: a metrics file holds no counts (issue 25: a 200-example run writes the same keys), so
    # the cells are shown from the published numbers and say so; the section weights are the catalog's
    subsets = {
        r["subset"]: (r["n"], r["accuracy"])
        for r in warehouse_rows(
            "select * from subset_accuracy where model = 'general-preference/GPM-Gemma-2B'"
        )
    }
    assert subsets["math-prm"] == (None, 0.9395973154362416)
    assert subsets["mt-bench-easy"] == (None, 0.9285714285714286)
    assert len(subsets) == 23
    assert row["coverage"] == (
        "chat: published metrics; chat_hard: published metrics; reasoning: published metrics; "
        "safety: published metrics"
    )
    assert any("n is NULL" in note for note in runs[0].notes)

    runs_table = warehouse_rows("select model, provenance, status, benchmarks from runs")
    assert runs_table == [
        {
            "model": "general-preference/GPM-Gemma-2B",
            "provenance": "imported",
            "status": "complete",
            "benchmarks": ["rewardbench"],
        }
    ]


@pytest.mark.mirror
def test_eval_set_folder_imports_every_file_and_reimport_adds_nothing(shared_data: Path) -> None:
    runs = import_path(EVAL_SET, log=quiet)
    assert sorted(r.model for r in runs) == [
        "general-preference/GPM-Gemma-2-2B",
        "general-preference/GPM-Gemma-2-9B",
        "general-preference/GPM-Gemma-2B",
        "general-preference/GPM-Llama-3.1-8B-Instruct",
    ]
    board = warehouse_rows("select model, rewardbench from leaderboard")
    assert len(board) == 4 and all(0.7 < row["rewardbench"] < 1.0 for row in board)

    again = import_path(EVAL_SET, log=quiet)
    assert all(r.already_imported for r in again)
    assert [r.run_id for r in again] == [r.run_id for r in runs]
    assert warehouse_rows("select count(*) as n from runs") == [{"n": 4}]


def test_unknown_subset_keys_are_reported_not_dropped(tmp_path: Path) -> None:
    results = tmp_path / "eval-set" / "hand-made" / "metrics-rm.json"
    results.parent.mkdir(parents=True)
    results.write_text(
        json.dumps({"alpacaeval-easy": 0.5, "not-a-subset": 0.25, "model_type": "Seq. Classifier"})
    )
    lines: list[str] = []
    (run,) = import_path(results, log=lines.append)
    assert run.model == "hand-made/metrics-rm"  # `<org>/<model>` below eval-set/
    assert run.unknown_subsets == {"not-a-subset": 0.25}
    assert any("not-a-subset" in line for line in lines)
    settings = json.loads(warehouse_rows("select settings from runs")[0]["settings"])
    assert settings["unknown_subsets"] == {"not-a-subset": 0.25}
    assert warehouse_rows("select subset, n, accuracy from subset_accuracy") == [
        {"subset": "alpacaeval-easy", "n": None, "accuracy": 0.5}  # a metrics file: counts unknown
    ]


def test_rewardbench_cli_results_json(tmp_path: Path) -> None:
    results = tmp_path / "results" / "hand-made" / "cli-rm.json"
    results.parent.mkdir(parents=True)
    document = {
        "accuracy": 0.6,
        "num_prompts": 5,
        "model": "hand-made/cli-rm",
        "ref_model": None,
        "tokenizer": "hand-made/cli-rm",
        "chat_template": None,
        "extra_results": {"hep-go": 0.25, "hep-rust": 0.75},
    }
    results.write_text(json.dumps(document))
    (run,) = import_path(results, log=quiet)
    assert (run.model, run.format, run.n_subsets) == ("hand-made/cli-rm", "rewardbench-cli-metrics", 2)
    # two of the seven reasoning subsets: the section is not shown, the coverage column says why, and
    # the partial score (0.25 x 164 + 0.75 x 164) / (164 + 164) stays in section_scores
    row = leaderboard_row("hand-made/cli-rm")
    assert row["reasoning"] is None and row["rewardbench"] is None
    # the first three subsets short of full, then how many more (section_scores.missing lists them all)
    assert (
        "reasoning: empty, missing hep-cpp (0/164), hep-java (0/164), hep-js (0/164), +2 more"
        in row["coverage"]
    )
    (missing,) = warehouse_rows("select missing from section_scores")
    assert "math-prm (0/447)" in missing["missing"]
    assert "rewardbench: empty, missing chat, chat_hard, reasoning, safety" in row["coverage"]
    (partial,) = warehouse_rows("select partial_score, complete from section_scores")
    assert partial == {"partial_score": pytest.approx(0.5, abs=1e-12), "complete": False}

    document["extra_results"] = None  # a run on a custom dataset: nothing maps to a benchmark
    other = tmp_path / "results" / "hand-made" / "custom.json"
    other.write_text(json.dumps(document))
    with pytest.raises(ResultFileError, match="custom.json.*extra_results"):
        import_path(other, log=quiet)


# ---------------------------------------------------------------- per-example files


def hand_made_rows() -> list[dict]:
    """Six hand-made rows: correct, wrong (list-wrapped scores), a tie marked correct (a mismatch),
    correct with [[score]], wrong, and one row of a subset the catalog does not know."""
    return [
        {"id": 1, "subset": "alpacaeval-easy", "scores_chosen": 2.0, "scores_rejected": 1.0, "results": 1},
        {
            "id": 2,
            "subset": "alpacaeval-easy",
            "scores_chosen": [0.5],
            "scores_rejected": [1.5],
            "results": 0,
        },
        {"id": 3, "subset": "alpacaeval-easy", "scores_chosen": 3.0, "scores_rejected": 3.0, "results": 1},
        {"id": 4, "subset": "hep-go", "scores_chosen": [[1.25]], "scores_rejected": 0.25, "results": 1},
        {"id": 5, "subset": "hep-go", "scores_chosen": 0.0, "scores_rejected": 0.5, "results": 0},
        {"id": 6, "subset": "not-a-subset", "scores_chosen": 1.0, "scores_rejected": 0.0, "results": 1},
    ]


def check_hand_made(run: ImportedRun, model: str) -> None:
    assert (run.model, run.format, run.benchmarks) == (model, "rewardbench-scores", ["rewardbench"])
    assert run.n_examples == 5
    assert run.unknown_subsets == {"not-a-subset": 1}
    assert run.mismatches == ["3"]  # results = 1 but 3.0 > 3.0 is false
    accuracy = {
        r["subset"]: (r["n"], r["accuracy"])
        for r in warehouse_rows(f"select * from subset_accuracy where model = '{model}'")
    }
    assert accuracy == {"alpacaeval-easy": (3, pytest.approx((1 + 0 + 1) / 3)), "hep-go": (2, 0.5)}
    outcomes = warehouse_rows(
        f"select example_id, subset, correct, margin from imported_outcomes where model = '{model}' order by example_id"
    )
    assert outcomes == [
        {"example_id": "1", "subset": "alpacaeval-easy", "correct": True, "margin": 1.0},
        {"example_id": "2", "subset": "alpacaeval-easy", "correct": False, "margin": -1.0},
        {"example_id": "3", "subset": "alpacaeval-easy", "correct": True, "margin": 0.0},
        {"example_id": "4", "subset": "hep-go", "correct": True, "margin": 1.0},
        {"example_id": "5", "subset": "hep-go", "correct": False, "margin": -0.5},
    ]
    # 3 of alpacaeval-easy's 100 rows and 2 of hep-go's 164: no section is covered, so none is shown
    row = leaderboard_row(model)
    assert row["chat"] is None and row["reasoning"] is None
    assert row["chat_hard"] is None and row["safety"] is None
    assert row["rewardbench"] is None  # the overall needs all four sections
    assert "chat: empty, missing alpacaeval-easy (3/100), alpacaeval-hard (0/95)" in row["coverage"]
    assert "hep-go (2/164)" in row["coverage"]
    partial = warehouse_rows(
        f"select section, partial_score from section_scores where model = '{model}' order by section"
    )
    # chat: alpacaeval-easy alone, 2/3; reasoning: hep-go alone, 0.5
    assert partial == [
        {"section": "chat", "partial_score": pytest.approx(2 / 3)},
        {"section": "reasoning", "partial_score": pytest.approx(0.5)},
    ]


def test_hand_made_per_example_scores_file(tmp_path: Path) -> None:
    """eval-set-scores/<org>/<model>.json as rewardbench's run_rm.py writes it: column-wise."""
    rows = hand_made_rows()
    columns = {key: [row[key] for row in rows] for key in rows[0]}
    path = tmp_path / "eval-set-scores" / "hand-made" / "tiny-rm.json"
    path.parent.mkdir(parents=True)
    path.write_text(
        json.dumps({**columns, "model_type": "Seq. Classifier", "chat_template": "tulu"}, indent=4)
    )
    (run,) = import_path(path, log=quiet)
    check_hand_made(run, "hand-made/tiny-rm")
    assert warehouse_rows("select provenance, status from runs") == [
        {"provenance": "imported", "status": "complete"}
    ]


def test_hand_made_cli_outputs_jsonl(tmp_path: Path) -> None:
    """The rewardbench CLI's `<model>_outputs.jsonl`: one row per line, model from the path."""
    path = tmp_path / "results" / "hand-made" / "tiny-cli-rm_outputs.jsonl"
    path.parent.mkdir(parents=True)
    path.write_text(
        "".join(json.dumps({**row, "prompt": "p", "text_chosen": "c"}) + "\n" for row in hand_made_rows())
    )
    (run,) = import_path(path, log=quiet)
    check_hand_made(run, "hand-made/tiny-cli-rm")


def test_bad_rows_and_unknown_shapes_name_the_file(tmp_path: Path) -> None:
    folder = tmp_path / "eval-set-scores" / "hand-made"
    folder.mkdir(parents=True)
    good = folder / "a-good.json"
    good.write_text(json.dumps(hand_made_rows()))
    strange = folder / "b-strange.json"
    strange.write_text(json.dumps({"foo": [1, 2], "bar": {"x": 1}}))
    with pytest.raises(ResultFileError, match="b-strange.json: unrecognised result file"):
        import_path(tmp_path, log=quiet)
    # every file is checked before anything is written: the good file was not imported either
    assert not (tmp_path / "rb_home" / "lake").exists()

    strange.unlink()
    duplicate = folder / "c-duplicate.json"
    duplicate.write_text(json.dumps(hand_made_rows() + [hand_made_rows()[0]]))
    with pytest.raises(ResultFileError, match="c-duplicate.json: row 6: duplicate id '1'"):
        import_path(tmp_path, log=quiet)
    duplicate.write_text(json.dumps([{**hand_made_rows()[0], "results": 2}]))
    with pytest.raises(
        ResultFileError, match=r"c-duplicate.json: row 0: field 'results' must be a number in \[0, 1\], got 2"
    ):
        import_path(duplicate, log=quiet)
    duplicate.write_text(json.dumps([{**hand_made_rows()[0], "scores_chosen": [1.0, 2.0]}]))
    with pytest.raises(ResultFileError, match="row 0: field 'scores_chosen' must be a number, got a list"):
        import_path(duplicate, log=quiet)
    with pytest.raises(FileNotFoundError, match="no-such-file"):
        import_path(tmp_path / "no-such-file.json", log=quiet)


# ---------------------------------------------------------------- RMB


@pytest.mark.mirror
def test_rmb_pairwise_result_file(shared_data: Path) -> None:
    records = json.loads(RMB_RESULT.read_text(encoding="utf-8"))
    assert len(records) == 849
    expected = sum(r["is_correct"] for r in records) / len(records)

    (run,) = import_path(RMB_RESULT, log=quiet)
    assert (run.model, run.format, run.benchmarks) == (
        "ArmoRM-Llama3-8B-v0.1",
        "rmb-results",
        ["rmb-pairwise"],
    )
    assert run.n_examples == 849 and run.unknown_subsets == {} and run.mismatches == []

    accuracy = warehouse_rows("select * from subset_accuracy")
    assert accuracy == [
        {
            "model": "ArmoRM-Llama3-8B-v0.1",
            "benchmark": "rmb-pairwise",
            "subset": RMB_SUBSET,
            "n": 849,
            "accuracy": pytest.approx(expected, abs=1e-12),
            "score": pytest.approx(expected, abs=1e-12),  # an accuracy rule: the score is the accuracy
        }
    ]
    outcomes = warehouse_rows(
        "select count(*) as n, count(distinct example_id) as ids from imported_outcomes"
    )
    assert outcomes == [{"n": 849, "ids": 849}]
    first = warehouse_rows("select * from imported_outcomes where example_id = '9218'")[0]
    assert first["correct"] is True and first["margin"] == pytest.approx(0.1767578125 - 0.169921875)
    # one scenario of helpfulness: the goal's score is not shown, only its partial score
    row = leaderboard_row("ArmoRM-Llama3-8B-v0.1")
    assert row["rmb_helpfulness_pairwise"] is None and row["rmb"] is None
    assert (
        "rmb_helpfulness_pairwise: empty, missing Helpfulness/Brainstorming/Problem Solving (0/100)"
        in (row["coverage"])
    )
    (section,) = warehouse_rows("select partial_score, n_subsets from section_scores")
    assert section == {"partial_score": pytest.approx(expected, abs=1e-12), "n_subsets": 1}
    assert warehouse_rows("select provenance from runs") == [{"provenance": "imported"}]


def test_rmb_bon_set_from_category_path(tmp_path: Path) -> None:
    path = tmp_path / "hand-made-bon_result.json"
    rows = [
        {"bon_uid": "b1", "category_path": "BoN_set/" + RMB_SUBSET, "is_correct": 1},
        {"bon_uid": "b2", "category_path": "BoN_set/" + RMB_SUBSET, "is_correct": 0},
    ]
    path.write_text(json.dumps(rows))
    (run,) = import_path(path, log=quiet, model="hand-made/bon-rm")
    assert run.benchmarks == ["rmb-bon"]
    assert warehouse_rows("select benchmark, subset, n, accuracy from subset_accuracy") == [
        {"benchmark": "rmb-bon", "subset": RMB_SUBSET, "n": 2, "accuracy": 0.5}
    ]


# ---------------------------------------------------------------- computed runs win over imported ones


def write_computed_run(model: str) -> pl.DataFrame:
    """Materialize rewardbench's shipped samples and a complete computed run scoring every chosen
    response 1 and every rejected one 0 (so every computed example is correct)."""
    benchmarks = load_benchmarks()
    normalized = normalize(benchmarks["rewardbench"])
    for table in ("examples", "responses", "rejects"):
        lake.write_parquet(getattr(normalized, table), lake.dataset_path(table, "rewardbench"))
    run_id = "20000101T000000-computed"
    scores = (
        normalized.responses.unique("response_id", keep="first")
        .select(
            model=pl.lit(model),
            run_id=pl.lit(run_id),
            settings_key=pl.lit("hand-made"),
            response_id=pl.col("response_id"),
            score=pl.when(pl.col("label") == "chosen").then(1.0).otherwise(0.0),
            score_vector=pl.lit(None, dtype=pl.List(pl.Float64)),
            n_tokens=pl.lit(1, dtype=pl.Int32),
            truncated_tokens=pl.lit(0, dtype=pl.Int32),
            reused=pl.lit(False),
        )
        .cast(SCORES_SCHEMA)
    )
    lake.write_parquet(scores, lake.scores_dir(model, run_id) / "part-00000.parquet")
    now = datetime.now(UTC)
    record = dict.fromkeys(RUNS_SCHEMA) | {
        "run_id": run_id,
        "model": model,
        "benchmarks": ["rewardbench"],
        "started_at": now,
        "ended_at": now,
        "status": "complete",
        "provenance": "computed",
    }
    write_run(record)
    return normalized.examples.group_by("subset").len()


def check_computed_wins(model: str, counts: pl.DataFrame) -> None:
    accuracy = warehouse_rows(f"select subset, n, accuracy from subset_accuracy where model = '{model}'")
    assert {r["subset"]: (r["n"], r["accuracy"]) for r in accuracy} == {
        subset: (n, 1.0) for subset, n in counts.iter_rows()
    }


@pytest.mark.mirror
def test_computed_run_wins_over_an_earlier_import(shared_data: Path) -> None:
    model = "general-preference/GPM-Gemma-2B"
    import_path(GPM_2B, log=quiet)
    counts = write_computed_run(model)
    check_computed_wins(model, counts)
    # and the imported model next to it keeps its imported numbers
    import_path(EVAL_SET / "general-preference__GPM-Gemma-2-9B.json", log=quiet)
    assert len(warehouse_rows("select * from subset_accuracy where model like '%2-9B'")) == 23


@pytest.mark.mirror
def test_computed_run_wins_over_a_later_import(shared_data: Path) -> None:
    model = "general-preference/GPM-Gemma-2B"
    counts = write_computed_run(model)
    import_path(GPM_2B, log=quiet)
    check_computed_wins(model, counts)


# ---------------------------------------------------------------- the public results layout


@pytest.mark.mirror
def test_public_layout_with_prior_sets_gives_the_official_scores(tmp_path: Path, shared_data: Path) -> None:
    """eval-set/<org>/<model>.json + pref-sets/<org>/<model>.json, as allenai/reward-bench-results
    holds them. The prior sets have no counts in a metrics file; a missing count must never drop a
    subset (issue 12: Prior Sets came out as anthropic_hhh alone, 0.8281 instead of 0.6841)."""
    root = tmp_path / "reward-bench-results"
    (root / "eval-set" / "general-preference").mkdir(parents=True)
    (root / "pref-sets" / "general-preference").mkdir(parents=True)
    (root / "eval-set" / "general-preference" / "GPM-Gemma-2B.json").write_bytes(GPM_2B.read_bytes())
    prior = {"anthropic_helpful": 0.6479, "anthropic_hhh": 0.8281, "shp": 0.5801, "summarize": 0.6803}
    (root / "pref-sets" / "general-preference" / "GPM-Gemma-2B.json").write_text(
        json.dumps({**prior, "model": "general-preference/GPM-Gemma-2B", "model_type": "Custom Classifier"})
    )
    # a partial prior-sets file: two of the four sets were run (and one set outside the mean)
    (root / "eval-set" / "hand-made").mkdir(parents=True)
    (root / "pref-sets" / "hand-made").mkdir(parents=True)
    partial_eval_set = GPM_2B.read_bytes().replace(b"general-preference/GPM-Gemma-2B", b"hand-made/partial")
    (root / "eval-set" / "hand-made" / "partial.json").write_bytes(partial_eval_set)
    (root / "pref-sets" / "hand-made" / "partial.json").write_text(
        json.dumps({"anthropic_hhh": 0.9, "shp": 0.5, "mtbench_human": 0.1, "model": "hand-made/partial"})
    )

    runs = import_path(root, log=quiet)
    assert sorted((r.model, tuple(r.benchmarks)) for r in runs) == [
        ("general-preference/GPM-Gemma-2B", ("rewardbench",)),
        ("general-preference/GPM-Gemma-2B", ("rewardbench-prior",)),
        ("hand-made/partial", ("rewardbench",)),
        ("hand-made/partial", ("rewardbench-prior",)),
    ]
    # every prior set counts though a metrics file gives no n (NULL: counts unknown)
    sizes = warehouse_rows(
        "select subset, n from subset_accuracy where model = 'general-preference/GPM-Gemma-2B' "
        "and benchmark = 'rewardbench-prior' order by subset"
    )
    assert sizes == [
        {"subset": "anthropic_helpful", "n": None},
        {"subset": "anthropic_hhh", "n": None},
        {"subset": "shp", "n": None},
        {"subset": "summarize", "n": None},
    ]

    # Sections, worked out from the file as in test_gpm_gemma_2b_metrics_file_gives_published_section_scores:
    # chat 0.7849162, chat_hard 0.6622807, safety 0.8432432, reasoning 0.8046564 (sum 3.0950965).
    # Prior Sets (official: np.nanmean over the four) = (0.6479 + 0.8281 + 0.5801 + 0.6803) / 4 = 0.6841;
    # overall (official: weights 2, 2, 2, 2, 1) = (3.0950965 + 0.5 x 0.6841) / 4.5 = 0.7638103
    # (with anthropic_hhh alone, as before the fix: (3.0950965 + 0.5 x 0.8281) / 4.5 = 0.7798).
    row = leaderboard_row("general-preference/GPM-Gemma-2B")
    sections = [row["chat"], row["chat_hard"], row["safety"], row["reasoning"]]
    assert row["prior_sets"] == pytest.approx(0.6841, abs=1e-4)
    assert row["rewardbench"] == pytest.approx((sum(sections) + 0.5 * 0.6841) / 4.5, abs=1e-12)
    assert row["rewardbench"] == pytest.approx(0.7638, abs=1e-4)
    assert row["provenance"] == "imported"
    assert row["coverage"] == (
        "chat: published metrics; chat_hard: published metrics; prior_sets: published metrics; "
        "reasoning: published metrics; safety: published metrics"
    )

    partial = leaderboard_row("hand-made/partial")
    assert partial["prior_sets"] == pytest.approx((0.9 + 0.5) / 2, abs=1e-12)  # the sets that were run
    assert partial["rewardbench"] == pytest.approx((sum(sections) + 0.5 * 0.7) / 4.5, abs=1e-12)


@pytest.mark.mirror
def test_result_formats_folder_imports_every_model_beside_the_others(shared_data: Path) -> None:
    """The published files in ../shared/data/result-formats, imported as one folder: each model gets
    its leaderboard row with where its numbers came from."""
    runs = import_path(SHARED_DATA / "result-formats", log=quiet)
    assert sorted(r.model for r in runs) == [
        "ArmoRM-Llama3-8B-v0.1",
        "general-preference/GPM-Gemma-2-2B",
        "general-preference/GPM-Gemma-2-9B",
        "general-preference/GPM-Gemma-2B",
        "general-preference/GPM-Llama-3.1-8B-Instruct",
    ]
    board = {r["model"]: r for r in warehouse_rows("select * from leaderboard")}
    assert {r["provenance"] for r in board.values()} == {"imported"}
    gpm = [board[m] for m in board if m.startswith("general-preference/")]
    assert all(r["rewardbench"] is not None and "published metrics" in r["coverage"] for r in gpm)
    assert all("missing" not in r["coverage"] for r in gpm)
    assert board["ArmoRM-Llama3-8B-v0.1"]["rmb"] is None  # one scenario of 49: empty, with coverage
    assert board["ArmoRM-Llama3-8B-v0.1"]["coverage"].startswith("rmb: empty, missing ")


def test_import_source_is_a_path_or_a_hub_dataset(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    from rb_pipeline.cli import main
    from rb_pipeline.sources.results.importer import import_source

    assert import_source(str(tmp_path)) == tmp_path
    with pytest.raises(FileNotFoundError, match="not a Hub dataset id"):
        import_source(str(tmp_path / "missing" / "file.json"))
    # offline (HF_HUB_OFFLINE=1, set by the rb_home fixture): one clear line, and the CLI exits 2
    with pytest.raises(ResultFileError, match="allenai/reward-bench-results: cannot fetch .*HF_HUB_OFFLINE"):
        import_source("allenai/reward-bench-results")
    assert main(["import", "allenai/reward-bench-results@main"]) == 2
    error = capsys.readouterr().err
    line, log = error.splitlines()  # the one line, then where the full log is
    assert "cannot fetch this dataset from the Hub" in line and log.startswith("rb-pipeline: log: ")


def test_rmb_result_files_of_one_model_are_one_run(tmp_path: Path) -> None:
    """RMB's scripts write one result file per scenario: a folder of them is one run per model, so the
    latest-run views see every scenario (not only the last file imported)."""
    folder = tmp_path / "rmb-results" / "hand-made--rmb-rm"
    folder.mkdir(parents=True)
    scenarios = {
        "ps": ("Pairwise_set/Helpfulness/Brainstorming/Problem Solving", [1, 0]),
        "s5": ("Pairwise_set/Harmlessness/S5", [1]),
    }
    for name, (category, results) in scenarios.items():
        rows = [
            {"pair_uid": f"{name}-{i}", "category_path": category, "is_correct": r}
            for i, r in enumerate(results)
        ]
        (folder / f"{name}_result.json").write_text(json.dumps(rows))
    runs = import_path(tmp_path / "rmb-results", log=quiet, model="hand-made/rmb-rm")
    assert [(r.model, r.n_subsets, r.n_examples) for r in runs] == [("hand-made/rmb-rm", 2, 3)]
    accuracy = warehouse_rows("select subset, n, accuracy from subset_accuracy order by subset")
    assert accuracy == [
        {"subset": "Harmlessness/S5", "n": 1, "accuracy": 1.0},
        {"subset": "Helpfulness/Brainstorming/Problem Solving", "n": 2, "accuracy": 0.5},
    ]


def test_deeply_nested_file_names_the_file(tmp_path: Path) -> None:
    """Issue 28 wording: 100,000 nested lists gave a bare 'maximum recursion depth exceeded'."""
    nested = tmp_path / "nested.json"
    nested.write_text("[" * 100_000 + "]" * 100_000)
    with pytest.raises(ResultFileError, match=r"nested.json: nested too deeply to read"):
        import_path(nested, log=lambda _: None)


def test_push_of_an_imported_model_says_imported_results_are_not_pushed(tmp_path: Path) -> None:
    """Issue 28: the dry run said "no complete run ... (runs found: 1 complete)"."""
    from rb_pipeline.publish.hub import HubError, build_score_dataset

    path = tmp_path / "hand-made" / "imported-rm.json"
    path.parent.mkdir(parents=True)
    path.write_text(json.dumps(hand_made_rows()))
    import_path(path, log=quiet, model="hand-made/imported-rm")
    build_warehouse(load_benchmarks())
    with pytest.raises(HubError) as caught:
        build_score_dataset("hand-made/imported-rm", tmp_path / "out")
    message = str(caught.value)
    assert "'hand-made/imported-rm' has imported results only, and imported results are not pushed" in message
    assert "runs found" not in message and "\n" not in message
