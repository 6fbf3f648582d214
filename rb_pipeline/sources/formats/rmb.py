"""RMB (`Pairwise_set/` and `BoN_set/` files): a pairwise and a best-of-N shape sharing one answer model."""

from __future__ import annotations

from typing import Annotated

from rb_pipeline.sources.formats.registry import Answer, RawExample, register_format, subset_or_field
from rb_pipeline.sources.rows import Id, Messages, SourceRow, Text, count_between, validate_row


class RMBAnswer(SourceRow):
    answer: Text
    llm_name: Text | None = None

    def as_answer(self) -> Answer:
        return Answer(self.answer, self.llm_name)


class RMBPairwiseRow(SourceRow):
    """RMB's pairwise files (`Pairwise_set/<category>/<scenario>.json`)."""

    pair_uid: Id
    category_path: Text | None = None
    conversation_input: Messages
    chosen: RMBAnswer
    reject: RMBAnswer


@register_format("rmb-pairwise")
def rmb_pairwise_row(record: dict, subset: str | None) -> RawExample:
    """RMB pairwise: pair_uid, conversation_input, chosen/reject {llm_name, answer}."""
    row = validate_row(RMBPairwiseRow, record)
    return _example(row, subset, row.pair_uid, row.chosen, [row.reject])


class RMBBestOfNRow(SourceRow):
    """RMB's best-of-N files (`BoN_set/<category>/<scenario>.json`)."""

    bon_uid: Id
    category_path: Text | None = None
    conversation_input: Messages
    bon_best: RMBAnswer
    loser_list: Annotated[list[RMBAnswer], count_between(1, items="answers")]


@register_format("rmb-bon")
def rmb_bon_row(record: dict, subset: str | None) -> RawExample:
    """RMB best-of-N: bon_uid, conversation_input, bon_best, loser_list."""
    row = validate_row(RMBBestOfNRow, record)
    return _example(row, subset, row.bon_uid, row.bon_best, row.loser_list)


def _example(
    row: RMBPairwiseRow | RMBBestOfNRow, subset: str | None, uid: str | int, best: RMBAnswer, losers: list
) -> RawExample:
    """An RMB row as an example: the catalog's subset, else the row's category path."""
    return RawExample(
        subset=subset_or_field(subset, row.category_path, "category_path"),
        source_id=str(uid),
        prompt=row.conversation_input,
        chosen=[best.as_answer()],
        rejected=[loser.as_answer() for loser in losers],
    )
