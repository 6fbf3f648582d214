"""Format adapters for step-level benchmarks (process reward models): each row is a question and a
solution split into steps, with the step labels the benchmark gives. An adapter returns `StepExample`s:
a `RawExample` whose one chosen answer is the solution (`core.steps.steps_text`), so the examples and
responses tables are written as for any benchmark, plus the steps and their labels, which
`sources.steps` writes as the `step_solutions` and `steps` tables."""

from __future__ import annotations

from dataclasses import dataclass

from rb_pipeline.core.steps import steps_text
from rb_pipeline.sources.formats import Answer, RawExample, RowError, register_format

# PRMBench builds its clean `correct` items from this category's originals (task.py:16-56)
PRMBENCH_CLEAN_FROM = "redundency"
PRMBENCH_CLEAN_SUBSET = "correct"


@dataclass(frozen=True)
class StepExample(RawExample):
    steps: tuple[str, ...] = ()
    # every error step, 1-based (PRMBench), or None when only the first is known (ProcessBench)
    error_steps: tuple[int, ...] | None = None
    first_error: int = -1  # 0-based earliest wrong step; -1: none


def step_example(
    subset: str, source_id: str, question: object, steps: object, **labels: object
) -> StepExample:
    """A StepExample from a question and its steps, checked (a RowError names the field)."""
    if not isinstance(question, str):
        raise RowError(f"question: expected a string, got {type(question).__name__}")
    if not isinstance(steps, list) or not steps:
        raise RowError("steps: expected a non-empty list of strings")
    for index, step in enumerate(steps):
        if not isinstance(step, str):
            raise RowError(f"steps[{index}]: expected a string, got {type(step).__name__}")
    return StepExample(
        subset=subset,
        source_id=source_id,
        prompt=[{"role": "user", "content": question}],
        chosen=[Answer(steps_text(steps))],
        steps=tuple(steps),
        **labels,
    )


def _string(record: dict, key: str) -> str:
    value = record.get(key)
    if not isinstance(value, str) or not value:
        raise RowError(f"{key}: expected a non-empty string, got {value!r:.60}")
    return value


@register_format("prmbench")
def prmbench(record: dict, subset: str | None) -> list[StepExample]:
    """ssmisya/PRMBench (mr_eval/tasks/prmtest_classified/data/*.jsonl, task.py:16-56): the scored item
    is `modified_question` + `modified_process` with its 1-based `error_steps`, id
    `<classification>_<idx>`; a `redundency` row also yields the clean item `correct_<idx>` built from
    its `original_question` + `original_process`, with no error step."""
    classification, idx = _string(record, "classification"), _string(record, "idx")
    error_steps = record.get("error_steps")
    if not isinstance(error_steps, list) or not all(
        isinstance(e, int) and not isinstance(e, bool) and e >= 1 for e in error_steps
    ):
        raise RowError(f"error_steps: expected a list of 1-based step numbers, got {error_steps!r:.60}")
    items = []
    if classification == PRMBENCH_CLEAN_FROM:
        items.append(
            step_example(
                PRMBENCH_CLEAN_SUBSET,
                f"{PRMBENCH_CLEAN_SUBSET}_{idx}",
                record.get("original_question"),
                record.get("original_process"),
                error_steps=(),
            )
        )
    steps = record.get("modified_process")
    in_range = [e - 1 for e in error_steps if isinstance(steps, list) and e <= len(steps)]
    items.append(
        step_example(
            subset or classification,
            f"{classification}_{idx}",
            record.get("modified_question"),
            steps,
            error_steps=tuple(error_steps),
            first_error=min(in_range, default=-1),
        )
    )
    return items


@register_format("processbench")
def processbench(record: dict, subset: str | None) -> StepExample:
    """Qwen/ProcessBench (one split per subset: gsm8k, math, olympiadbench, omnimath): `problem`,
    `steps`, and `label`, the 0-based earliest wrong step or -1 when every step is right; id `id`."""
    steps, label = record.get("steps"), record.get("label")
    if not isinstance(label, int) or isinstance(label, bool):
        raise RowError(f"label: expected an integer step index, got {label!r:.60}")
    n_steps = len(steps) if isinstance(steps, list) else 0
    if not -1 <= label < max(n_steps, 1):
        raise RowError(f"label: {label} names no step of the {n_steps} steps (-1: none wrong)")
    return step_example(subset or "", _string(record, "id"), record.get("problem"), steps, first_error=label)
