"""RewardBench's Hub shape (`allenai/reward-bench`): one prompt, one chosen and one rejected answer."""

from __future__ import annotations

from rb_pipeline.sources.formats.registry import (
    Answer,
    RawExample,
    register_format,
    subset_or_field,
    user_prompt,
)
from rb_pipeline.sources.rows import Id, SourceRow, Text, validate_row


class RewardBenchRow(SourceRow):
    """RewardBench's Hub shape (`allenai/reward-bench`)."""

    id: Id
    prompt: Text
    chosen: Text
    rejected: Text
    chosen_model: Text | None = None
    rejected_model: Text | None = None
    subset: Text | None = None


@register_format("rewardbench")
def rewardbench_row(record: dict, subset: str | None) -> RawExample:
    """RewardBench's Hub shape: prompt, chosen, rejected (strings), chosen_model, subset, id."""
    row = validate_row(RewardBenchRow, record)
    return RawExample(
        subset=subset_or_field(subset, row.subset),
        source_id=str(row.id),
        prompt=user_prompt(row.prompt),
        chosen=[Answer(row.chosen, row.chosen_model)],
        rejected=[Answer(row.rejected, row.rejected_model)],
    )
