"""PRMBench (`ssmisya/PRMBench`): step-level rows for process reward models, every error step labelled."""

from __future__ import annotations

from rb_pipeline.sources.formats.registry import StepExample, register_format, required_string, step_example
from rb_pipeline.sources.rows import RowError

# PRMBench builds its clean `correct` items from this category's originals (task.py:16-56)
PRMBENCH_CLEAN_FROM = "redundency"
PRMBENCH_CLEAN_SUBSET = "correct"


@register_format("prmbench")
def prmbench(record: dict, subset: str | None) -> list[StepExample]:
    """ssmisya/PRMBench (mr_eval/tasks/prmtest_classified/data/*.jsonl, task.py:16-56): the scored item
    is `modified_question` + `modified_process` with its 1-based `error_steps`, id
    `<classification>_<idx>`; a `redundency` row also yields the clean item `correct_<idx>` built from
    its `original_question` + `original_process`, with no error step."""
    classification, idx = required_string(record, "classification"), required_string(record, "idx")
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
