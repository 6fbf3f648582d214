"""Step-level tables of a `steps` benchmark (process reward models), beside its examples and responses:
`step_solutions` (one row per solution: step count, earliest wrong step, error steps as published) and
`steps` (one row per step, with its label), plus their checks (`STEP_CHECKS`).

The rows come from the same adapters as the examples (`sources.formats.prmbench`, `processbench`):
each source row that normalization accepted is read again and its `StepExample`s kept, so a
quarantined row has no steps."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import polars as pl

from rb_pipeline.catalog.entries import Benchmark
from rb_pipeline.core.lake import dataset_path, write_parquet
from rb_pipeline.core.schemas import STEP_SOLUTIONS_SCHEMA, STEPS_SCHEMA
from rb_pipeline.sources.formats.registry import StepExample, get_adapter
from rb_pipeline.sources.normalize import NormalizedBenchmark, response_id
from rb_pipeline.sources.records import file_stem, read_records


@dataclass(frozen=True)
class StepTables:
    solutions: pl.DataFrame
    steps: pl.DataFrame


def step_label(example: StepExample, step: int) -> str | None:
    """`correct`, `error`, or None when unknown (a step after ProcessBench's earliest wrong one)."""
    if example.error_steps is not None:
        return "error" if step + 1 in example.error_steps else "correct"
    if example.first_error == -1 or step < example.first_error:
        return "correct"
    return "error" if step == example.first_error else None


def step_tables(benchmark: Benchmark, data: NormalizedBenchmark) -> StepTables:
    """The step tables of the examples that `data` accepted."""
    accepted = set(data.examples.select("source_file", "source_row", "example_id").iter_rows())
    rows_read = {(file, row) for file, row, _ in accepted}
    solutions: list[dict] = []
    steps: list[dict] = []
    for source in data.sources:
        adapter = get_adapter(source.format)
        for row, record in read_records(source.path):
            if (str(source.path), row) not in rows_read:
                continue
            produced = adapter(record, source.subset)
            for example in produced if isinstance(produced, list) else [produced]:
                if not isinstance(example, StepExample):
                    raise TypeError(f"format {source.format!r} gives no steps: not a step-level format")
                if (str(source.path), row, example.source_id) not in accepted:
                    continue  # another source row's duplicate, quarantined there
                key = {
                    "benchmark": benchmark.benchmark,
                    "subset": example.subset or file_stem(source.path),
                    "example_id": example.source_id,
                    "response_id": response_id(example.prompt, example.chosen[0].text),
                }
                n = len(example.steps)
                errors = example.error_steps
                solutions.append(
                    key
                    | {
                        "n_steps": n,
                        "first_error": example.first_error,
                        "error_steps": None if errors is None else list(errors),
                        "error_steps_past_end": sum(1 for e in errors or () if e > n),
                    }
                )
                steps.extend(
                    key | {"step": index, "text": text, "label": step_label(example, index)}
                    for index, text in enumerate(example.steps)
                )
    return StepTables(
        pl.DataFrame(solutions, schema=STEP_SOLUTIONS_SCHEMA), pl.DataFrame(steps, schema=STEPS_SCHEMA)
    )


def write_step_tables(benchmark: str, tables: StepTables) -> None:
    """`lake/step_solutions/benchmark=<name>/` and `lake/steps/benchmark=<name>/`."""
    write_parquet(tables.solutions, dataset_path("step_solutions", benchmark))
    write_parquet(tables.steps, dataset_path("steps", benchmark))


@dataclass(frozen=True)
class StepCheck:
    """One intent: the rows it finds (`count`), whether finding any blocks scoring, and what it says."""

    name: str
    blocking: bool
    description: str
    count: Callable[[StepTables], int]


# The checks of a step benchmark, one row per intent. Upstream scores only the steps a solution has:
# an error step past the end is ignored (PRMBench task.py:264, the loop over the model's labels), so
# it is counted and shown, not blocking; a solution whose every error step lies past the end
# (PRMBench: 16) then has no error step at all.
STEP_CHECKS = (
    StepCheck(
        "error_steps_within_solution",
        False,
        "solutions naming an error step past their last step (ignored when scored, as upstream)",
        lambda t: t.solutions.filter(pl.col("error_steps_past_end") > 0).height,
    ),
    StepCheck(
        "past_end_only",
        False,
        "solutions with error steps, all past their last step (scored as having none)",
        lambda t: (
            t.solutions.filter(
                (pl.col("error_steps_past_end") > 0)
                & (pl.col("error_steps").list.len() == pl.col("error_steps_past_end"))
            ).height
        ),
    ),
    StepCheck(
        "step_text_not_blank",
        False,
        "steps whose text is blank (scored as published)",
        lambda t: t.steps.filter(pl.col("text").str.strip_chars() == "").height,
    ),
    StepCheck(
        "every_solution_has_steps",
        True,
        "solutions whose step rows do not match their step count",
        lambda t: (
            t.solutions.join(
                t.steps.group_by("benchmark", "example_id").len(), on=["benchmark", "example_id"], how="left"
            )
            .filter(pl.col("len").fill_null(0) != pl.col("n_steps"))
            .height
        ),
    ),
    StepCheck(
        "first_error_within_solution",
        True,
        "solutions whose earliest wrong step is not one of their steps (nor -1)",
        lambda t: (
            t.solutions.filter(
                (pl.col("first_error") < -1) | (pl.col("first_error") >= pl.col("n_steps"))
            ).height
        ),
    ),
)


def run_step_checks(tables: StepTables) -> tuple[bool, str, dict]:
    """(passed: no blocking check found rows, a one-line summary, metadata: each check's count and the
    per-subset counts of solutions without an error step)."""
    found = {check.name: check.count(tables) for check in STEP_CHECKS}
    failed = [c.name for c in STEP_CHECKS if c.blocking and found[c.name]]
    summary = "; ".join(f"{found[c.name]} {c.description}" for c in STEP_CHECKS if found[c.name]) or "none"
    no_error = tables.solutions.filter(pl.col("first_error") == -1).group_by("subset").len().sort("subset")
    metadata = {
        **found,
        "solutions": tables.solutions.height,
        "steps": tables.steps.height,
        "solutions_without_error": dict(no_error.iter_rows()),
    }
    return not failed, summary, metadata
