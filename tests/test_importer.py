"""Tests for rb_pipeline.importer: result files in, leaderboard rows out (through the warehouse).

Expected numbers are worked out by hand here from the files' own numbers (RewardBench's
prompt-weighted section rule), never by calling the code under test.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import polars as pl
import pytest

from rb_pipeline import lake
from rb_pipeline.catalog import load_benchmarks
from rb_pipeline.importer import ImportedRun, ResultFileError, import_path
from rb_pipeline.normalize import normalize
from rb_pipeline.scoring import RUNS_SCHEMA, SCORES_SCHEMA, write_run
from rb_pipeline.warehouse import build_warehouse, query
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


@pytest.fixture(scope="module")
def shared_data() -> Path:
    """The shared result files (tests using them carry the `mirror` marker: skipped where it is absent)."""
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

    # n = the catalog's example counts (math-prm: its 447 real rows; the 984 is only its weight)
    subsets = {
        r["subset"]: (r["n"], r["accuracy"])
        for r in warehouse_rows(
            "select * from subset_accuracy where model = 'general-preference/GPM-Gemma-2B'"
        )
    }
    assert subsets["math-prm"] == (447, 0.9395973154362416)
    assert subsets["mt-bench-easy"] == (28, 0.9285714285714286)
    assert len(subsets) == 23

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
        {"subset": "alpacaeval-easy", "n": 100, "accuracy": 0.5}
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
    # reasoning = (0.25 x 164 + 0.75 x 164) / (164 + 164) over the subsets present
    assert leaderboard_row("hand-made/cli-rm")["reasoning"] == pytest.approx(0.5, abs=1e-12)

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
    row = leaderboard_row(model)
    assert row["chat"] == pytest.approx(2 / 3)  # alpacaeval-easy is the only chat subset present
    assert row["reasoning"] == pytest.approx(0.5)  # hep-go is the only reasoning subset present
    assert row["chat_hard"] is None and row["safety"] is None
    assert row["rewardbench"] is None  # the overall needs all four sections


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
    with pytest.raises(ResultFileError, match="c-duplicate.json: row 0: results must be 0, 1 or 0.5"):
        import_path(duplicate, log=quiet)
    duplicate.write_text(json.dumps([{**hand_made_rows()[0], "scores_chosen": [1.0, 2.0]}]))
    with pytest.raises(ResultFileError, match="row 0: scores_chosen must be a number"):
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
        }
    ]
    outcomes = warehouse_rows(
        "select count(*) as n, count(distinct example_id) as ids from imported_outcomes"
    )
    assert outcomes == [{"n": 849, "ids": 849}]
    first = warehouse_rows("select * from imported_outcomes where example_id = '9218'")[0]
    assert first["correct"] is True and first["margin"] == pytest.approx(0.1767578125 - 0.169921875)
    row = leaderboard_row("ArmoRM-Llama3-8B-v0.1")
    assert row["rmb_helpfulness_pairwise"] == pytest.approx(expected, abs=1e-12)
    assert row["rmb"] is None  # the other three goal x set scores are missing
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
