"""A conversation only (rewardbench's `messages` datasets): scored, with no accuracy."""

from __future__ import annotations

from rb_pipeline.sources.formats.registry import Answer, RawExample, register_format, split_conversation
from rb_pipeline.sources.rows import Id, Messages, RowError, SourceRow, Text, validate_row


class MessagesRow(SourceRow):
    """A conversation only (rewardbench's `messages` datasets)."""

    messages: Messages
    model: Text | None = None
    subset: Text | None = None
    id: Id | None = None


@register_format("messages")
def messages_row(record: dict, subset: str | None) -> RawExample:
    """A conversation ending in the assistant's answer (`messages` only): one response labelled
    chosen and no rejected one, so it is scored but has no accuracy."""
    row = validate_row(MessagesRow, record)
    conversation, answer = split_conversation(row.messages)
    if answer is None:
        raise RowError("field 'messages' must end with an assistant message")
    return RawExample(
        subset=subset or row.subset or "",
        source_id=None if row.id is None else str(row.id),
        prompt=conversation,
        chosen=[Answer(answer, row.model)],
    )
