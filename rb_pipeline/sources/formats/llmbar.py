"""LLMBar's release: an input, two outputs and the label of the better one."""

from __future__ import annotations

from typing import Annotated

from pydantic import StrictInt

from rb_pipeline.sources.formats.registry import Answer, RawExample, register_format, user_prompt
from rb_pipeline.sources.rows import SourceRow, Text, one_of, validate_row


class LLMBarRow(SourceRow):
    """LLMBar's release."""

    input: Text
    output_1: Text
    output_2: Text
    label: Annotated[StrictInt, one_of(1, 2)]  # the better output


@register_format("llmbar")
def llmbar_row(record: dict, subset: str | None) -> RawExample:
    """LLMBar's release: input, output_1, output_2, label (1 or 2 names the better output)."""
    row = validate_row(LLMBarRow, record)
    outputs = {1: row.output_1, 2: row.output_2}
    return RawExample(
        subset=subset or "",
        source_id=None,
        prompt=user_prompt(row.input),
        chosen=[Answer(outputs[row.label])],
        rejected=[Answer(outputs[3 - row.label])],
    )
