"""The format registry: what an adapter returns (`RawExample`, `StepExample`), the registry adapters
join (`@register_format("rmb-pairwise")`, named from the catalog) and what adapters share.

Each adapter is a module of this package, registered when the package is imported. An adapter
returns one `RawExample`, or a list of them when one source row holds several examples (RM-Bench's
3 x 3 style grid). A record an adapter cannot read raises `RowError`; the caller quarantines the
whole row with its file and row.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from rb_pipeline.core.steps import steps_text
from rb_pipeline.sources.records import SourceError, record_keys
from rb_pipeline.sources.rows import RowError

Message = dict[str, str]
VALID_ROLES = ("system", "user", "assistant")


@dataclass(frozen=True)
class Answer:
    text: str
    model: str | None = None


@dataclass(frozen=True)
class RawExample:
    subset: str  # "" when neither the catalog nor the record names one (the file's stem is used)
    source_id: str | None  # the source's own id, when it has one
    prompt: list[Message]
    chosen: list[Answer]
    rejected: list[Answer] = field(default_factory=list)


Adapter = Callable[[dict, str | None], "RawExample | list[RawExample]"]
ADAPTERS: dict[str, Adapter] = {}


def register_format(name: str) -> Callable[[Adapter], Adapter]:
    """Register an adapter: a function (record, subset from the catalog or None) -> RawExample(s)."""

    def decorator(adapter: Adapter) -> Adapter:
        ADAPTERS[name] = adapter
        return adapter

    return decorator


def get_adapter(name: str) -> Adapter:
    """The adapter registered under `name`."""
    if name not in ADAPTERS:
        raise SourceError(f"unknown format {name!r} (known: {', '.join(sorted(ADAPTERS))})")
    return ADAPTERS[name]


def check_unicode(raw: RawExample) -> None:
    """Refuse a text holding a lone surrogate (`"\\ud800"` is valid JSON, but no valid Unicode: it
    cannot be written as UTF-8), naming where it is."""
    texts = {"subset": raw.subset, "id": raw.source_id or ""}
    texts |= {f"prompt[{i}].{key}": m[key] for i, m in enumerate(raw.prompt) for key in ("role", "content")}
    for label, answers in (("chosen", raw.chosen), ("rejected", raw.rejected)):
        for index, answer in enumerate(answers):
            texts |= {f"{label}[{index}]": answer.text, f"{label}[{index}].model": answer.model or ""}
    for where, text in texts.items():
        if text.isascii():
            continue
        try:
            text.encode("utf-8")
        except UnicodeEncodeError as exc:
            surrogate = f"\\u{ord(text[exc.start]):04x}"
            raise RowError(
                f"{where}: a lone surrogate {surrogate} at character {exc.start} (not valid Unicode)"
            ) from None


def detect_format(path: Path) -> str:
    """The adapter for a user's file, from its first record: rewardbench's `--dataset` shapes."""
    keys = record_keys(path)
    if {"chosen", "rejected"} <= keys:
        return "preference"
    if "messages" in keys:
        return "messages"
    raise SourceError(
        f"{path}: cannot tell the format from its first record (fields: {', '.join(sorted(keys)) or 'none'});"
        " expected `chosen` and `rejected` (with `prompt`, or as whole conversations), or `messages`"
    )


def user_prompt(text: str) -> list[Message]:
    """A plain question as a one-turn prompt."""
    return [{"role": "user", "content": text}]


def as_messages(value: str | list[Message]) -> list[Message]:
    """A prompt given as a plain question or as a message list, as a message list."""
    return user_prompt(value) if isinstance(value, str) else list(value)


def subset_or_field(subset: str | None, field_value: str | None, name: str = "subset") -> str:
    """The catalog's subset, else the row's own field (required then)."""
    if subset:
        return subset
    if field_value is None:
        raise RowError(f"missing field {name!r}")
    return field_value


def split_conversation(messages: list[Message]) -> tuple[list[Message], str | None]:
    """A prompt given as a message list, or a conversation ending in the assistant's answer."""
    if messages and messages[-1]["role"] == "assistant":
        return messages[:-1], messages[-1]["content"]
    return messages, None


# ---------------------------------------------------------------- step-level formats (process reward models)


@dataclass(frozen=True)
class StepExample(RawExample):
    """A step-level row: a question and a solution split into steps, with the benchmark's step labels.
    Its one chosen answer is the solution (`core.steps.steps_text`), so the examples and responses
    tables are written as for any benchmark; `sources.steps` writes the steps and labels as the
    `step_solutions` and `steps` tables."""

    steps: tuple[str, ...] = ()
    # every error step, 1-based (PRMBench), or None when only the first is known (ProcessBench)
    error_steps: tuple[int, ...] | None = None
    first_error: int = -1  # 0-based earliest wrong step; -1: none


def step_example(
    subset: str, source_id: str, question: object, steps: object, **labels: object
) -> StepExample:
    """A StepExample from a question and its steps, checked (a RowError names the field)."""
    if not isinstance(question, str):
        raise RowError(f"question: expected a string, got {type(question).__name__}")
    if not isinstance(steps, list) or not steps:
        raise RowError("steps: expected a non-empty list of strings")
    for index, step in enumerate(steps):
        if not isinstance(step, str):
            raise RowError(f"steps[{index}]: expected a string, got {type(step).__name__}")
    return StepExample(
        subset=subset,
        source_id=source_id,
        prompt=[{"role": "user", "content": question}],
        chosen=[Answer(steps_text(steps))],
        steps=tuple(steps),
        **labels,
    )


def required_string(record: dict, key: str) -> str:
    """`record[key]`, a non-empty string (a RowError names the field otherwise)."""
    value = record.get(key)
    if not isinstance(value, str) or not value:
        raise RowError(f"{key}: expected a non-empty string, got {value!r:.60}")
    return value
