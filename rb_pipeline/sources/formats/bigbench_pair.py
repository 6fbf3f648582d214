"""A BIG-bench multiple-choice record with two choices (Anthropic HHH)."""

from __future__ import annotations

from typing import Annotated

from pydantic import AfterValidator, StrictInt

from rb_pipeline.sources.formats.registry import Answer, RawExample, register_format, user_prompt
from rb_pipeline.sources.rows import SourceRow, Text, Texts, count_between, validate_row


def _one_and_zero(labels: list[int]) -> list[int]:
    if sorted(labels) != [0, 1]:
        raise ValueError(f"must be [1, 0] or [0, 1], got {labels!r}")
    return labels


class BigBenchTargets(SourceRow):
    choices: Annotated[Texts, count_between(2, 2)]
    labels: Annotated[list[StrictInt], AfterValidator(_one_and_zero)]


class BigBenchPairRow(SourceRow):
    """A BIG-bench multiple-choice record with two choices."""

    input: Text
    targets: BigBenchTargets


@register_format("bigbench-pair")
def bigbench_pair_row(record: dict, subset: str | None) -> RawExample:
    """A BIG-bench multiple-choice record with two choices (Anthropic HHH, prior set `anthropic_hhh`):
    input, targets {choices, labels}; the choice labelled 1 is chosen, the one labelled 0 rejected.
    Every one of the 221 HHH records has exactly two choices, so one record is one RewardBench pair."""
    row = validate_row(BigBenchPairRow, record)
    best = row.targets.labels.index(1)
    return RawExample(
        subset=subset or "",
        source_id=None,
        prompt=user_prompt(row.input),
        chosen=[Answer(row.targets.choices[best])],
        rejected=[Answer(row.targets.choices[1 - best])],
    )
