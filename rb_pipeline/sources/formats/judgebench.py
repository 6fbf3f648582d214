"""JudgeBench (`ScalerLab/JudgeBench`): two responses and the label of the better one."""

from __future__ import annotations

from typing import Annotated

from rb_pipeline.sources.formats.registry import Answer, RawExample, register_format, user_prompt
from rb_pipeline.sources.rows import RowError, SourceRow, Text, one_of, validate_row


def judgebench_category(source: str) -> str:
    """JudgeBench's four reported categories from a pair's `source`."""
    if source.startswith("mmlu-pro"):
        return "knowledge"
    categories = {"livebench-reasoning": "reasoning", "livebench-math": "math", "livecodebench": "coding"}
    if source not in categories:
        raise RowError(f"field 'source' {source!r} is not a JudgeBench source")
    return categories[source]


class JudgeBenchRow(SourceRow):
    """JudgeBench (`ScalerLab/JudgeBench`)."""

    pair_id: Text
    source: Text
    question: Text
    response_A: Text
    response_B: Text
    label: Annotated[Text, one_of("A>B", "B>A")]
    response_model: Text


@register_format("judgebench")
def judgebench_row(record: dict, subset: str | None) -> RawExample:
    """JudgeBench: pair_id, source, question, response_A, response_B, label (`A>B` or `B>A`),
    response_model. Subset `<response_model>/<category>` (knowledge, reasoning, math, coding)."""
    row = validate_row(JudgeBenchRow, record)
    better, worse = (
        (row.response_A, row.response_B) if row.label == "A>B" else (row.response_B, row.response_A)
    )
    return RawExample(
        subset=subset or f"{row.response_model}/{judgebench_category(row.source)}",
        source_id=row.pair_id,
        prompt=user_prompt(row.question),
        chosen=[Answer(better, row.response_model)],
        rejected=[Answer(worse, row.response_model)],
    )
