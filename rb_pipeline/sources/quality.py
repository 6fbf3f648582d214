"""Data-quality suites over one benchmark's normalized tables, run with great-expectations.

Each check is one GX expectation. Checks GX cannot express on the raw rows run on a derived
column computed in polars first (e.g. `n_chosen` per example, expected to be >= 1). GX only
takes pandas frames, so every frame is converted with `.to_pandas()`; the (slow) GX import
happens on the first check, and one ephemeral context is built per call.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import polars as pl

from rb_pipeline.core.schemas import EXAMPLES_SCHEMA, RESPONSES_SCHEMA

ROLES = ("system", "user", "assistant")
LABELS = ("chosen", "rejected")
EXAMPLES_REQUIRED = ("benchmark", "subset", "example_id", "source_file", "source_row")
RESPONSES_REQUIRED = ("benchmark", "example_id", "response_id", "position", "text", "label")
# Comma-joined prompt roles: an optional leading system turn, then user/assistant alternating
# from a user turn (whether the prompt ends on a user turn is a separate check).
ROLE_SEQUENCE = r"^(?:system,)?user(?:,assistant,user)*(?:,assistant)?$|^system$"

# Which column identifies a row of each frame in a failure's "first: ..." detail.
_INDEX_COLUMNS = {
    "examples": ["example_id"],
    "subsets": ["subset"],
    "responses": ["example_id", "response_id"],
    "per_example": ["example_id"],
}


@dataclass(frozen=True)
class _Check:
    name: str
    frame: str  # "schema" (zero rows, original columns) or a key of _INDEX_COLUMNS
    gx_class: str  # class name in great_expectations.expectations
    kwargs: dict[str, Any]
    unit: str  # what unexpected_count counts: "row", "example", "subset", "column"
    what: str  # how a failing unit is described


def _not_null(frame: str, column: str) -> _Check:
    return _Check(
        f"{column}_not_null",
        frame,
        "ExpectColumnValuesToNotBeNull",
        {"column": column},
        "row",
        f"with a null {column}",
    )


def _at_least(name: str, frame: str, column: str, bound: int, unit: str, what: str) -> _Check:
    return _Check(
        name,
        frame,
        "ExpectColumnValuesToBeBetween",
        {"column": column, "min_value": bound},
        unit,
        what,
    )


def _columns_present(schema: dict[str, Any]) -> _Check:
    return _Check(
        "required_columns_present",
        "schema",
        "ExpectTableColumnsToMatchSet",
        {"column_set": list(schema), "exact_match": False},
        "column",
        "missing from the table",
    )


EXAMPLE_CHECKS: tuple[_Check, ...] = (
    _columns_present(EXAMPLES_SCHEMA),
    *(_not_null("examples", c) for c in EXAMPLES_REQUIRED),
    _Check(
        "example_id_unique",
        "examples",
        "ExpectCompoundColumnsToBeUnique",
        {"column_list": ["benchmark", "example_id"]},
        "row",
        "whose example_id repeats within the benchmark",
    ),
    _at_least("prompt_not_empty", "examples", "prompt_turns", 1, "row", "with a null or empty prompt"),
    _Check(
        "prompt_roles_valid",
        "examples",
        "ExpectColumnValuesToBeNull",
        {"column": "prompt_bad_role"},
        "row",
        f"with a prompt role outside {{{', '.join(ROLES)}}}",
    ),
    _Check(
        "prompt_roles_alternate",
        "examples",
        "ExpectColumnValuesToMatchRegex",
        {"column": "prompt_roles", "regex": ROLE_SEQUENCE},
        "row",
        "whose prompt roles do not alternate user/assistant (system only first)",
    ),
    _Check(
        "prompt_ends_with_user",
        "examples",
        "ExpectColumnValuesToBeInSet",
        {"column": "prompt_last_role", "value_set": ["user"]},
        "row",
        "whose prompt does not end with a user turn",
    ),
    _at_least(
        "prompt_content_not_blank",
        "examples",
        "prompt_min_content_chars",
        1,
        "row",
        "with an empty or whitespace-only prompt turn",
    ),
    _Check(
        "subset_row_counts",
        "subsets",
        "ExpectColumnPairValuesToBeEqual",
        {"column_A": "actual_rows", "column_B": "expected_rows"},
        "subset",
        "whose row count differs from the expected count",
    ),
)

RESPONSE_CHECKS: tuple[_Check, ...] = (
    _columns_present(RESPONSES_SCHEMA),
    *(_not_null("responses", c) for c in RESPONSES_REQUIRED),
    _Check(
        "text_not_blank",
        "responses",
        "ExpectColumnValuesToNotMatchRegex",
        {"column": "text", "regex": r"^\s*$"},
        "row",
        "with an empty or whitespace-only text",
    ),
    _Check(
        "text_no_replacement_char",
        "responses",
        "ExpectColumnValuesToNotMatchRegex",
        {"column": "text", "regex": "\ufffd"},
        "row",
        "whose text holds U+FFFD (undecodable bytes)",
    ),
    _Check(
        "label_valid",
        "responses",
        "ExpectColumnValuesToBeInSet",
        {"column": "label", "value_set": list(LABELS)},
        "row",
        f"with a label outside {{{', '.join(LABELS)}}}",
    ),
    _Check(
        "position_unique",
        "responses",
        "ExpectCompoundColumnsToBeUnique",
        {"column_list": ["example_id", "position"]},
        "row",
        "sharing (example_id, position) with another row",
    ),
    _Check(
        "example_id_known",
        "responses",
        "ExpectColumnValuesToBeInSet",
        {"column": "example_in_examples", "value_set": [True]},
        "row",
        "whose example_id is not in examples",
    ),
    _at_least("has_chosen", "per_example", "n_chosen", 1, "example", "without a chosen response"),
    _at_least("has_rejected", "per_example", "n_rejected", 1, "example", "without a rejected response"),
    _Check(
        "chosen_differs_from_rejected",
        "per_example",
        "ExpectColumnValuesToBeBetween",
        {"column": "n_chosen_equal_rejected", "max_value": 0},
        "example",
        "where a chosen text equals a rejected text",
    ),
)


@dataclass(frozen=True)
class ExpectationOutcome:
    """The result of one expectation, reduced to what a person or Dagster needs."""

    name: str
    success: bool
    unexpected_count: int
    detail: str


@dataclass(frozen=True)
class QualityReport:
    """All expectation outcomes for one table."""

    table: str
    outcomes: tuple[ExpectationOutcome, ...]

    @property
    def success(self) -> bool:
        """True when every expectation passed."""
        return all(o.success for o in self.outcomes)

    def failed(self) -> tuple[ExpectationOutcome, ...]:
        """The outcomes that did not pass."""
        return tuple(o for o in self.outcomes if not o.success)

    def outcome(self, name: str) -> ExpectationOutcome:
        """The outcome with this name (KeyError if the report has none)."""
        for o in self.outcomes:
            if o.name == name:
                return o
        raise KeyError(name)

    def summary(self) -> str:
        """One line per failed outcome, or 'all N expectations passed'."""
        failed = self.failed()
        if not failed:
            return f"all {len(self.outcomes)} expectations passed"
        return "\n".join(f"{self.table}.{o.name}: {o.detail}" for o in failed)

    def metadata(self) -> dict[str, int | str | bool]:
        """Flat values for Dagster asset-check metadata."""
        failed = self.failed()
        meta: dict[str, int | str | bool] = {
            "table": self.table,
            "success": self.success,
            "expectations": len(self.outcomes),
            "failed": len(failed),
            "failed_names": ", ".join(o.name for o in failed),
        }
        meta.update({f"unexpected.{o.name}": o.unexpected_count for o in self.outcomes})
        return meta


def expectation_names() -> list[str]:
    """Every expectation as '<table>.<name>' (the form summary() uses), for documentation."""
    return [f"examples.{c.name}" for c in EXAMPLE_CHECKS] + [f"responses.{c.name}" for c in RESPONSE_CHECKS]


def check_examples(examples: pl.DataFrame, expected_rows: dict[str, int] | None = None) -> QualityReport:
    """Validate the examples table; per-subset row counts only for subsets in `expected_rows`."""
    df = _with_missing_columns(examples, EXAMPLES_SCHEMA)
    roles = pl.col("prompt").list.eval(pl.element().struct.field("role").fill_null("<null>"))
    content_chars = pl.element().struct.field("content").fill_null("").str.strip_chars()
    df = df.select(
        *EXAMPLES_REQUIRED,
        prompt_turns=pl.col("prompt").list.len().fill_null(0),
        prompt_bad_role=roles.list.eval(pl.element().filter(~pl.element().is_in(ROLES))).list.first(),
        prompt_min_content_chars=pl.col("prompt").list.eval(content_chars.str.len_chars()).list.min(),
        roles=roles,
    )
    # Sequence checks only judge prompts that are non-empty with valid roles (null = not judged).
    judged = (pl.col("prompt_turns") > 0) & pl.col("prompt_bad_role").is_null()
    df = df.with_columns(
        prompt_roles=pl.when(judged).then(pl.col("roles").list.join(",")),
        prompt_last_role=pl.when(judged).then(pl.col("roles").list.last()),
    ).drop("roles")
    frames = {"schema": examples.head(0), "examples": df}
    if expected_rows is not None:
        actual = df.group_by("subset").agg(actual_rows=pl.len())
        expected = pl.DataFrame(
            {"subset": list(expected_rows), "expected_rows": list(expected_rows.values())},
            schema={"subset": pl.String, "expected_rows": pl.Int64},
        )
        frames["subsets"] = expected.join(actual, on="subset", how="left").with_columns(
            pl.col("actual_rows").fill_null(0).cast(pl.Int64)
        )
    checks = [c for c in EXAMPLE_CHECKS if c.frame in frames]
    return QualityReport("examples", _run(checks, frames))


def check_responses(responses: pl.DataFrame, examples: pl.DataFrame) -> QualityReport:
    """Validate the responses table, including its links to the examples table."""
    df = _with_missing_columns(responses, RESPONSES_SCHEMA)
    known = _with_missing_columns(examples, EXAMPLES_SCHEMA).get_column("example_id").drop_nulls()
    df = df.with_columns(example_in_examples=pl.col("example_id").is_in(known.implode()))  # null: unjudged
    same_text = identical_pairs(df).rename({"pairs": "n_chosen_equal_rejected"})
    counts = df.group_by("example_id").agg(
        n_chosen=(pl.col("label") == "chosen").sum(),
        n_rejected=(pl.col("label") == "rejected").sum(),
    )
    per_example = (
        pl.DataFrame({"example_id": known}, schema={"example_id": pl.String})
        .unique(maintain_order=True)
        .join(counts, on="example_id", how="left")
        .join(same_text, on="example_id", how="left")
        .with_columns(pl.exclude("example_id").fill_null(0).cast(pl.Int64))
    )
    frames = {"schema": responses.head(0), "responses": df, "per_example": per_example}
    return QualityReport("responses", _run(RESPONSE_CHECKS, frames))


def identical_pairs(responses: pl.DataFrame) -> pl.DataFrame:
    """`example_id, pairs`: per example, its (chosen, rejected) pairs whose texts are equal. Such a pair
    is scored as published (official denominators hold) and is always wrong under the strict rule (a tie)."""
    chosen = responses.filter(pl.col("label") == "chosen").select("example_id", "text")
    rejected = responses.filter(pl.col("label") == "rejected").select("example_id", "text")
    return (
        chosen.join(rejected, on=["example_id", "text"])
        .group_by("example_id", maintain_order=True)
        .agg(pairs=pl.len().cast(pl.Int64))
    )


@dataclass(frozen=True)
class IdenticalPairs:
    """The non-blocking `no_chosen_equal_to_rejected` asset check's numbers (see `identical_pairs`)."""

    pairs: int
    examples: int
    per_subset: dict[str, int]  # subset -> pairs
    first_examples: tuple[str, ...]  # up to 5 example ids, to look them up

    @property
    def description(self) -> str:
        if not self.pairs:
            return "no chosen text equals a rejected text"
        return (
            f"{self.pairs} pairs in {self.examples} examples where a chosen text equals a rejected text: "
            "scored, and always wrong under the strict rule (first: " + ", ".join(self.first_examples) + ")"
        )


def count_identical_pairs(examples: pl.DataFrame, responses: pl.DataFrame) -> IdenticalPairs:
    """Count the pairs whose chosen text equals a rejected text, per subset."""
    found = identical_pairs(responses).join(
        examples.select("example_id", "subset"), on="example_id", how="left"
    )
    per_subset = found.group_by("subset").agg(pl.col("pairs").sum()).sort("subset")
    return IdenticalPairs(
        pairs=int(found["pairs"].sum()),
        examples=found.height,
        per_subset=dict(per_subset.iter_rows()),
        first_examples=tuple(found["example_id"].head(5).to_list()),
    )


def _with_missing_columns(df: pl.DataFrame, schema: dict[str, Any]) -> pl.DataFrame:
    """Add absent schema columns as nulls, so a missing column fails its checks, not the run."""
    return df.with_columns(
        pl.lit(None, dtype=dtype).alias(name) for name, dtype in schema.items() if name not in df.columns
    )


def _run(
    checks: list[_Check] | tuple[_Check, ...], frames: dict[str, pl.DataFrame]
) -> tuple[ExpectationOutcome, ...]:
    """Validate each frame's checks as one GX suite in one ephemeral context."""
    import great_expectations as gx
    import great_expectations.expectations as gxe
    from great_expectations.data_context.types.base import ProgressBarsConfig

    context = gx.get_context(mode="ephemeral")
    context.variables.progress_bars = ProgressBarsConfig(globally=False)
    source = context.data_sources.add_pandas("rb_quality")
    by_name: dict[str, ExpectationOutcome] = {}
    for frame, df in frames.items():
        ids = _INDEX_COLUMNS.get(frame, [])
        suite = gx.ExpectationSuite(
            name=frame,
            expectations=[
                getattr(gxe, c.gx_class)(
                    **c.kwargs, meta={"name": c.name, "unit": c.unit, "what": c.what, "ids": ids}
                )
                for c in checks
                if c.frame == frame
            ],
        )
        batch = (
            source.add_dataframe_asset(frame)
            .add_batch_definition_whole_dataframe(frame)
            .get_batch(batch_parameters={"dataframe": df.to_pandas()})
        )
        result_format: dict[str, Any] = {"result_format": "SUMMARY"}
        if ids:
            result_format["unexpected_index_column_names"] = ids
        for result in batch.validate(suite, result_format=result_format).results:
            outcome = _outcome(result)
            by_name[outcome.name] = outcome
    return tuple(by_name[c.name] for c in checks)


def _outcome(result: Any) -> ExpectationOutcome:
    """Turn one GX ExpectationValidationResult into an ExpectationOutcome."""
    meta = result.expectation_config.meta
    name, unit, what = meta["name"], meta["unit"], meta["what"]
    info = result.exception_info or {}
    errors = [info] if "raised_exception" in info else list(info.values())
    error = next((e.get("exception_message") for e in errors if e.get("raised_exception")), None)
    if error:
        return ExpectationOutcome(name, False, 0, f"GX could not evaluate it: {error}")
    found = result.result or {}
    missing = ((found.get("details") or {}).get("mismatched") or {}).get("missing") or []
    count = int(found.get("unexpected_count", len(missing)))
    success = bool(result.success)
    if success and count == 0:
        return ExpectationOutcome(name, True, 0, f"no {unit}s {what}")
    total = found.get("element_count")
    of_total = "" if total is None else f" of {total}"
    detail = f"{count}{of_total} {unit}{'' if count == 1 and total is None else 's'} {what}"
    firsts = found.get("partial_unexpected_index_list") or []
    if firsts:
        keys = meta["ids"]
        ids = [f"{k}={_short(firsts[0][k], quote=False)}" for k in keys if k in firsts[0]]
        values = [f"{k}={_short(v)}" for k, v in firsts[0].items() if k not in keys]
        detail += f" (first: {', '.join(ids + values)})"
    elif missing:
        detail += f": {', '.join(missing)}"
    return ExpectationOutcome(name, success, count, detail)


def _short(value: Any, quote: bool = True, limit: int = 40) -> str:
    if value is None or value != value:  # None or NaN: a null cell
        return "null"
    text = repr(value) if quote and isinstance(value, str) else str(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."
