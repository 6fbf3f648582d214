"""A user's preference file, as rewardbench's `--dataset` reads it (prompt, chosen, rejected)."""

from __future__ import annotations

from rb_pipeline.sources.formats.registry import (
    Answer,
    Message,
    RawExample,
    as_messages,
    register_format,
    split_conversation,
)
from rb_pipeline.sources.rows import Id, Prompt, RowError, SourceRow, Text, validate_row


class PreferenceRow(SourceRow):
    """A user's preference file (rewardbench's `--dataset` shapes)."""

    chosen: Prompt  # an answer, or a conversation ending in it
    rejected: Prompt
    prompt: Prompt | None = None
    question: Prompt | None = None  # rewardbench renames these to `prompt`
    input: Prompt | None = None
    chosen_model: Text | None = None
    rejected_model: Text | None = None
    subset: Text | None = None
    id: Id | None = None


@register_format("preference")
def preference_row(record: dict, subset: str | None) -> RawExample:
    """A user's file as rewardbench's `--dataset` reads it: prompt + chosen + rejected, where each
    is a string or a message list (a chosen/rejected list is a whole conversation ending in the answer).
    `question` or `input` stand for a missing `prompt` (rewardbench renames them the same way)."""
    row = validate_row(PreferenceRow, record)
    answers: dict[str, Answer] = {}
    conversation_prompt: list[Message] | None = None
    for name in ("chosen", "rejected"):
        value, model = getattr(row, name), getattr(row, f"{name}_model")
        if isinstance(value, str):
            answers[name] = Answer(value, model)
            continue
        conversation, answer = split_conversation(value)
        if answer is None:
            raise RowError(f"field {name!r} must end with an assistant message")
        answers[name] = Answer(answer, model)
        if conversation_prompt is not None and conversation != conversation_prompt:  # which one was asked?
            raise RowError("chosen and rejected are conversations with different prompts")
        conversation_prompt = conversation
    given = next((p for p in (row.prompt, row.question, row.input) if p is not None), None)
    if given is not None:
        prompt = as_messages(given)
    elif conversation_prompt:
        prompt = conversation_prompt
    else:
        raise RowError("missing field 'prompt' (and chosen/rejected are not conversations)")
    return RawExample(
        subset=subset or row.subset or "",
        source_id=None if row.id is None else str(row.id),
        prompt=prompt,
        chosen=[answers["chosen"]],
        rejected=[answers["rejected"]],
    )
