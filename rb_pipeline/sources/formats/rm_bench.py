"""RM-Bench: 3 chosen x 3 rejected styles per row, 9 pairs graded hard, normal or easy."""

from __future__ import annotations

from typing import Annotated

from rb_pipeline.sources.formats.registry import Answer, RawExample, register_format, user_prompt
from rb_pipeline.sources.rows import Id, RowError, SourceRow, Text, Texts, count_between, validate_row

RM_BENCH_STYLES = ("concise", "detailed", "markdown")  # index order of RM-Bench's chosen/rejected lists


def rm_bench_level(chosen_style: int, rejected_style: int) -> str:
    """RM-Bench's difficulty of a (chosen style i, rejected style j) comparison: the upper triangle
    (i < j, a plainer chosen against a fancier rejected) is hard, the diagonal normal, the rest easy."""
    if chosen_style < rejected_style:
        return "hard"
    return "normal" if chosen_style == rejected_style else "easy"


_THREE_STYLES = count_between(len(RM_BENCH_STYLES), len(RM_BENCH_STYLES))


class RMBenchRow(SourceRow):
    """RM-Bench (`<domain>_filtered.json`)."""

    id: Id
    prompt: Text
    chosen: Annotated[Texts, _THREE_STYLES]
    rejected: Annotated[Texts, _THREE_STYLES]


@register_format("rm-bench")
def rm_bench_row(record: dict, subset: str | None) -> list[RawExample]:
    """RM-Bench (`<domain>_filtered.json`): id, prompt, chosen and rejected (3 styles each). One row
    becomes its 9 (chosen style i, rejected style j) pairs, subset `<domain>/<level>` and id
    `<domain>/<id>:<i>:<j>`, so pair accuracy per level is RM-Bench's hard/normal/easy accuracy."""
    if not subset:
        raise RowError("rm-bench needs the domain as the catalog's subset")
    row = validate_row(RMBenchRow, record)
    for name, texts in (("chosen", row.chosen), ("rejected", row.rejected)):
        for style, text in enumerate(texts):
            if not text.strip():  # named here: each pair below holds only one of the styles
                raise RowError(f"{name}[{style}] ({RM_BENCH_STYLES[style]}): empty text")
    return [
        RawExample(
            subset=f"{subset}/{rm_bench_level(i, j)}",
            source_id=f"{subset}/{row.id}:{i}:{j}",
            prompt=user_prompt(row.prompt),
            chosen=[Answer(row.chosen[i])],
            rejected=[Answer(row.rejected[j])],
        )
        for i in range(len(row.chosen))
        for j in range(len(row.rejected))
    ]
