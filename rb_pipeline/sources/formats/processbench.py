"""ProcessBench (`Qwen/ProcessBench`): step-level rows for process reward models, the earliest wrong step
labelled."""

from __future__ import annotations

from rb_pipeline.sources.formats.registry import StepExample, register_format, required_string, step_example
from rb_pipeline.sources.rows import RowError


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
    return step_example(
        subset or "", required_string(record, "id"), record.get("problem"), steps, first_error=label
    )
