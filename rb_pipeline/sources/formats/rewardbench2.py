"""RewardBench 2 (`allenai/reward-bench-2`): lists of chosen and rejected answers per prompt."""

from __future__ import annotations

from typing import Annotated

from pydantic import StrictInt, model_validator

from rb_pipeline.sources.formats.registry import (
    Answer,
    RawExample,
    as_messages,
    register_format,
    subset_or_field,
)
from rb_pipeline.sources.rows import Id, Prompt, SourceRow, Text, Texts, count_between, validate_row


class RewardBench2Row(SourceRow):
    """RewardBench 2 (`allenai/reward-bench-2`, split `test`)."""

    id: Id
    prompt: Prompt
    chosen: Annotated[Texts, count_between(1)]
    rejected: Annotated[Texts, count_between(1)]
    num_correct: StrictInt | None = None
    subset: Text | None = None

    @model_validator(mode="after")
    def _num_correct_counts_chosen(self) -> RewardBench2Row:
        if self.num_correct is not None and self.num_correct != len(self.chosen):
            raise ValueError(
                f"field 'num_correct' is {self.num_correct!r} but 'chosen' holds {len(self.chosen)} answers"
            )
        return self


@register_format("rewardbench-2")
def rewardbench2_row(record: dict, subset: str | None) -> RawExample:
    """RewardBench 2 (`allenai/reward-bench-2`, split `test`): id, prompt, chosen and rejected (lists
    of strings: 1 chosen + 3 rejected; Ties: several chosen), num_correct, subset. Ids repeat across
    subsets (and Ties uses `ref:<n>` / `tied:<n>`), so the example id is `<subset>/<id>`."""
    row = validate_row(RewardBench2Row, record)
    name = subset_or_field(subset, row.subset)
    return RawExample(
        subset=name,
        source_id=f"{name}/{row.id}",
        prompt=as_messages(row.prompt),
        chosen=[Answer(text) for text in row.chosen],
        rejected=[Answer(text) for text in row.rejected],
    )
