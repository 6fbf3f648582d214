"""`allenai/pref-test-sets`: RewardBench's prior sets, one split per subset."""

from __future__ import annotations

from rb_pipeline.sources.formats.registry import (
    Answer,
    RawExample,
    register_format,
    subset_or_field,
    user_prompt,
)
from rb_pipeline.sources.rows import Id, Prompt, SourceRow, Text, validate_row


class PrefTestSetsRow(SourceRow):
    """`allenai/pref-test-sets` (RewardBench's prior sets)."""

    prompt: Prompt
    chosen: Text
    rejected: Text
    subset: Text | None = None
    id: Id | None = None


@register_format("pref-test-sets")
def pref_test_sets_row(record: dict, subset: str | None) -> RawExample:
    """`allenai/pref-test-sets` (RewardBench's prior sets; one split per subset): prompt (a message
    list, or a string), chosen and rejected (strings), id. Roles are re-read by position (user first,
    alternating), as rewardbench's `prepare_dialogue` does; ids are per split, so the id is
    `<split>/<id>`."""
    row = validate_row(PrefTestSetsRow, record)
    split = subset_or_field(subset, row.subset)
    if isinstance(row.prompt, str):
        prompt = user_prompt(row.prompt)
    else:
        prompt = [
            {"role": ("user", "assistant")[i % 2], "content": m["content"]} for i, m in enumerate(row.prompt)
        ]
    return RawExample(
        subset=split,
        source_id=None if row.id is None else f"{split}/{row.id}",
        prompt=prompt,
        chosen=[Answer(row.chosen)],
        rejected=[Answer(row.rejected)],
    )
