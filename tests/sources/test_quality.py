"""Tests for rb_pipeline.sources.quality on hand-made tiny frames (not real benchmark data).

Every defect case starts from the hand-made good frames, breaks one thing, and states the
unexpected_count worked out by hand; all other expectations must still pass.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import polars as pl
import pytest

from rb_pipeline.core.schemas import EXAMPLES_SCHEMA, RESPONSES_SCHEMA
from rb_pipeline.sources.quality import (
    ExpectationOutcome,
    QualityReport,
    check_examples,
    check_responses,
    count_identical_pairs,
    expectation_names,
)

Rows = list[dict[str, Any]]


def turn(role: str | None, content: str | None) -> dict[str, str | None]:
    return {"role": role, "content": content}


def hand_made_examples() -> Rows:
    """Three hand-made examples: single turn, system + multi-turn, multi-turn; subsets s1, s2."""
    base = {"benchmark": "hand-made", "source_revision": "rev0", "source_file": "hand.jsonl"}
    return [
        {**base, "subset": "s1", "example_id": "e1", "source_row": 0, "prompt": [turn("user", "Say hi.")]},
        {
            **base,
            "subset": "s1",
            "example_id": "e2",
            "source_row": 1,
            "prompt": [
                turn("system", "Be brief."),
                turn("user", "2+2?"),
                turn("assistant", "4"),
                turn("user", "And 3+3?"),
            ],
        },
        {
            **base,
            "subset": "s2",
            "example_id": "e3",
            "source_row": 2,
            "prompt": [
                turn("user", "Name a colour."),
                turn("assistant", "Red."),
                turn("user", "Another one?"),
            ],
        },
    ]


HAND_MADE_EXPECTED_ROWS = {"s1": 2, "s2": 1}


def hand_made_responses() -> Rows:
    """Seven hand-made responses; e2 has two chosen (like RewardBench-2 Ties)."""

    def response(example_id: str, position: int, text: str, label: str, model: str | None = None):
        return {
            "benchmark": "hand-made",
            "example_id": example_id,
            "response_id": f"{example_id}-{position}",
            "position": position,
            "text": text,
            "label": label,
            "source_model": model,
        }

    return [
        response("e1", 0, "Hi!", "chosen", "model-a"),
        response("e1", 1, "No.", "rejected", "model-b"),
        response("e2", 0, "6", "chosen"),
        response("e2", 1, "Six.", "chosen"),
        response("e2", 2, "7", "rejected"),
        response("e3", 0, "Red.", "rejected"),
        response("e3", 1, "Blue.", "chosen"),
    ]


def frame(rows: Rows, schema: dict[str, Any]) -> pl.DataFrame:
    """Rows to a frame with the normalized schema, minus columns a case removed."""
    return pl.DataFrame(rows, schema={k: v for k, v in schema.items() if k in rows[0]})


def edit(rows: Rows, row_id: str, **changes: Any) -> None:
    """Change the row whose response_id (or example_id) is row_id."""
    key = "response_id" if "response_id" in rows[0] else "example_id"
    (row,) = [r for r in rows if r[key] == row_id]
    row.update(changes)


def assert_outcomes(report: QualityReport, failures: dict[str, int]) -> None:
    """Exactly the named outcomes fail, each with the hand-computed unexpected_count."""
    by_name = {o.name: o for o in report.outcomes}
    for name, count in failures.items():
        outcome = by_name[name]
        assert not outcome.success, outcome
        assert outcome.unexpected_count == count, outcome
    unexpected_failures = [o for o in report.outcomes if not o.success and o.name not in failures]
    assert unexpected_failures == []


# Each case: (id, table checked, edit of the hand-made rows, expected_rows, {failing name: count})
Edit = Callable[[Rows, Rows], None]
CASES: list[tuple[str, str, Edit, dict[str, int] | None, dict[str, int]]] = []


def case(table: str, failures: dict[str, int], expected_rows: dict[str, int] | None = None):
    def register(fn: Edit) -> Edit:
        rows = HAND_MADE_EXPECTED_ROWS if expected_rows is None else expected_rows
        CASES.append((fn.__name__, table, fn, rows if table == "examples" else None, failures))
        return fn

    return register


# --- examples defects -----------------------------------------------------------------------


@case("examples", {"required_columns_present": 1})
def examples_column_missing(ex: Rows, rs: Rows) -> None:
    for row in ex:
        del row["source_revision"]


@case("examples", {"benchmark_not_null": 1})
def examples_benchmark_null(ex: Rows, rs: Rows) -> None:
    edit(ex, "e2", benchmark=None)


@case("examples", {"subset_not_null": 1}, expected_rows={"s1": 2})
def examples_subset_null(ex: Rows, rs: Rows) -> None:
    edit(ex, "e3", subset=None)


@case("examples", {"example_id_not_null": 1})
def examples_example_id_null(ex: Rows, rs: Rows) -> None:
    edit(ex, "e1", example_id=None)


@case("examples", {"source_file_not_null": 2})
def examples_source_file_null(ex: Rows, rs: Rows) -> None:
    edit(ex, "e1", source_file=None)
    edit(ex, "e3", source_file=None)


@case("examples", {"source_row_not_null": 1})
def examples_source_row_null(ex: Rows, rs: Rows) -> None:
    edit(ex, "e2", source_row=None)


@case("examples", {"example_id_unique": 2})  # both rows of the duplicated id count
def examples_duplicate_id(ex: Rows, rs: Rows) -> None:
    edit(ex, "e3", example_id="e1")


@case("examples", {"prompt_not_empty": 2})
def examples_prompt_empty(ex: Rows, rs: Rows) -> None:
    edit(ex, "e1", prompt=[])
    edit(ex, "e3", prompt=None)


@case("examples", {"prompt_roles_valid": 2})
def examples_prompt_bad_role(ex: Rows, rs: Rows) -> None:
    edit(ex, "e1", prompt=[turn("human", "Say hi.")])
    edit(ex, "e2", prompt=[turn(None, "Be brief."), turn("user", "2+2?")])


@case("examples", {"prompt_roles_alternate": 3})
def examples_prompt_roles_do_not_alternate(ex: Rows, rs: Rows) -> None:
    edit(ex, "e1", prompt=[turn("user", "Say"), turn("user", "hi.")])
    edit(ex, "e2", prompt=[turn("user", "2+2?"), turn("system", "Be brief."), turn("user", "?")])
    edit(ex, "e3", prompt=[turn("assistant", "Hello."), turn("user", "Name a colour.")])


@case("examples", {"prompt_ends_with_user": 1})
def examples_prompt_ends_with_assistant(ex: Rows, rs: Rows) -> None:
    edit(ex, "e3", prompt=[turn("user", "Name a colour."), turn("assistant", "Red.")])


@case("examples", {"prompt_content_not_blank": 2})
def examples_prompt_content_blank(ex: Rows, rs: Rows) -> None:
    edit(ex, "e1", prompt=[turn("user", " \n\t")])
    edit(ex, "e2", prompt=[turn("system", None), turn("user", "2+2?")])


@case("examples", {"subset_row_counts": 2}, expected_rows={"s1": 2, "s2": 5, "s3": 1})
def examples_subset_counts_differ(ex: Rows, rs: Rows) -> None:
    pass  # s1 matches; s2 has 1 row not 5; s3 has 0 rows not 1


# --- responses defects ----------------------------------------------------------------------


@case("responses", {"required_columns_present": 1})
def responses_column_missing(ex: Rows, rs: Rows) -> None:
    for row in rs:
        del row["source_model"]


@pytest.mark.parametrize("column", ["benchmark", "example_id", "response_id", "position", "text", "label"])
def test_responses_required_column_null(column: str) -> None:
    """Nulling one required cell of a second chosen response fails only `<column>_not_null`."""
    ex, rs = hand_made_examples(), hand_made_responses()
    edit(rs, "e2-1", **{column: None})
    report = check_responses(frame(rs, RESPONSES_SCHEMA), frame(ex, EXAMPLES_SCHEMA))
    assert_outcomes(report, {f"{column}_not_null": 1})


@case("responses", {"text_not_blank": 2})
def responses_text_blank(ex: Rows, rs: Rows) -> None:
    edit(rs, "e1-1", text="")
    edit(rs, "e3-0", text=" \n\t ")


@case("responses", {"text_no_replacement_char": 1})
def responses_text_replacement_char(ex: Rows, rs: Rows) -> None:
    edit(rs, "e2-2", text="caf\ufffd")


@case("responses", {"label_valid": 1})
def responses_label_invalid(ex: Rows, rs: Rows) -> None:
    edit(rs, "e2-1", label="tie")


@case("responses", {"has_chosen": 1})
def responses_example_without_chosen(ex: Rows, rs: Rows) -> None:
    edit(rs, "e1-0", label="rejected")


@case("responses", {"has_rejected": 1})
def responses_example_without_rejected(ex: Rows, rs: Rows) -> None:
    edit(rs, "e3-0", label="chosen")


@case("responses", {"has_chosen": 1, "has_rejected": 1})
def responses_example_without_responses(ex: Rows, rs: Rows) -> None:
    ex.append({**ex[0], "example_id": "e4", "source_row": 3})


@case("responses", {"chosen_differs_from_rejected": 1})  # one example, though two pairs
def responses_chosen_equals_rejected(ex: Rows, rs: Rows) -> None:
    edit(rs, "e2-0", text="7")
    edit(rs, "e2-1", text="7")


@case("responses", {"example_id_known": 1})
def responses_unknown_example(ex: Rows, rs: Rows) -> None:
    rs.append({**rs[0], "example_id": "e9", "response_id": "e9-0"})


@case("responses", {"position_unique": 2})  # both rows of the duplicated (example_id, position)
def responses_duplicate_position(ex: Rows, rs: Rows) -> None:
    edit(rs, "e2-1", position=0)


# --- tests ----------------------------------------------------------------------------------


def test_hand_made_good_frames_pass_every_expectation() -> None:
    ex = frame(hand_made_examples(), EXAMPLES_SCHEMA)
    rs = frame(hand_made_responses(), RESPONSES_SCHEMA)
    examples_report = check_examples(ex, HAND_MADE_EXPECTED_ROWS)
    responses_report = check_responses(rs, ex)
    for report in (examples_report, responses_report):
        assert report.success, report.summary()
        assert report.summary() == f"all {len(report.outcomes)} expectations passed"
    names = [f"{r.table}.{o.name}" for r in (examples_report, responses_report) for o in r.outcomes]
    assert names == expectation_names()
    assert examples_report.metadata()["unexpected.example_id_unique"] == 0


@pytest.mark.parametrize(
    ("edit_rows", "table", "expected_rows", "failures"),
    [pytest.param(fn, table, rows, failures, id=name) for name, table, fn, rows, failures in CASES],
)
def test_hand_made_defect(
    edit_rows: Edit, table: str, expected_rows: dict[str, int] | None, failures: dict[str, int]
) -> None:
    ex, rs = hand_made_examples(), hand_made_responses()
    edit_rows(ex, rs)
    examples = frame(ex, EXAMPLES_SCHEMA)
    if table == "examples":
        report = check_examples(examples, expected_rows)
    else:
        report = check_responses(frame(rs, RESPONSES_SCHEMA), examples)
    assert report.table == table
    assert_outcomes(report, failures)


def test_subsets_absent_from_expected_rows_are_not_checked() -> None:
    ex = frame(hand_made_examples(), EXAMPLES_SCHEMA)
    assert check_examples(ex, {"s1": 2}).success
    names = [o.name for o in check_examples(ex).outcomes]
    assert "subset_row_counts" not in names


def test_report_summary_and_metadata_name_the_failure() -> None:
    ex = hand_made_examples()
    edit(ex, "e3", example_id="e1")
    report = check_examples(frame(ex, EXAMPLES_SCHEMA))
    assert not report.success
    assert report.summary().startswith("examples.example_id_unique: 2 of 3 rows")
    assert "(first: example_id=e1" in report.summary()
    meta = report.metadata()
    assert meta["failed"] == 1 and meta["failed_names"] == "example_id_unique"
    assert meta["unexpected.example_id_unique"] == 2
    assert all(isinstance(v, int | str | bool) for v in meta.values())
    assert isinstance(report.outcomes[0], ExpectationOutcome)


def test_expectation_names_are_unique() -> None:
    names = expectation_names()
    assert len(names) == len(set(names))


# --- chosen equal to rejected: counted by a non-blocking asset check ------------------------


def test_identical_pairs_are_counted_per_pair_and_subset() -> None:
    ex, rs = hand_made_examples(), hand_made_responses()
    edit(rs, "e2-0", text="7")  # e2 (s1): both chosen equal the rejected "7": 2 pairs
    edit(rs, "e2-1", text="7")
    edit(rs, "e3-0", text="Blue.")  # e3 (s2): the rejected equals the chosen: 1 pair
    found = count_identical_pairs(frame(ex, EXAMPLES_SCHEMA), frame(rs, RESPONSES_SCHEMA))
    assert (found.pairs, found.examples) == (3, 2)
    assert found.per_subset == {"s1": 2, "s2": 1}
    assert found.first_examples == ("e2", "e3")
    assert found.description.startswith("3 pairs in 2 examples where a chosen text equals a rejected text")
    clean = count_identical_pairs(frame(ex, EXAMPLES_SCHEMA), frame(hand_made_responses(), RESPONSES_SCHEMA))
    assert (clean.pairs, clean.examples, clean.per_subset) == (0, 0, {})


def test_identical_pairs_check_warns_without_blocking(rb_home, tmp_path) -> None:
    """A dataset asset with one identical pair materializes (scored as published); its non-blocking
    check fails with severity WARN and counts 1 pair, while the blocking GX checks pass."""
    import json

    from dagster import AssetCheckSeverity, DagsterInstance, materialize

    from assets.datasets import dataset_asset
    from rb_pipeline.sources.datasets import dataset_benchmark

    rows = [
        {"prompt": "2+2?", "chosen": "4", "rejected": "5", "subset": "a"},
        {"prompt": "Capital of France?", "chosen": "Paris", "rejected": "Paris", "subset": "b"},
        {"prompt": "Colour of the sky?", "chosen": "Blue", "rejected": "Green", "subset": "b"},
    ]
    path = tmp_path / "twins.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    result = materialize([dataset_asset(dataset_benchmark(path))], instance=DagsterInstance.ephemeral())
    assert result.success
    checks = {e.check_name: e for e in result.get_asset_check_evaluations()}
    identical = checks["no_chosen_equal_to_rejected"]
    assert not identical.passed and identical.severity == AssetCheckSeverity.WARN
    assert identical.metadata["pairs"].value == 1 and identical.metadata["examples"].value == 1
    assert [r.data for r in identical.metadata["per_subset"].records] == [{"subset": "b", "pairs": 1}]
    assert checks["examples_quality"].passed and checks["responses_quality"].passed
