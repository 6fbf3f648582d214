"""Format adapters: turn one source record into a raw example (prompt, chosen and rejected answers).

Each adapter is registered by name (`@register_format("rmb-pairwise")`) and named from the catalog.
A record an adapter cannot read raises `RowError`; the caller quarantines it with file and row.
A file that cannot be read at all raises `SourceError`, naming the file and the position.
"""

from __future__ import annotations

import gzip
import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pyarrow.parquet as pq

Message = dict[str, str]
VALID_ROLES = ("system", "user", "assistant")


class SourceError(ValueError):
    """A whole file is unreadable (bad JSON, wrong top-level type, unknown format)."""


class RowError(ValueError):
    """One record is malformed; it is quarantined, not dropped."""


@dataclass(frozen=True)
class Answer:
    text: str
    model: str | None = None


@dataclass(frozen=True)
class RawExample:
    subset: str
    source_id: str | None  # the source's own id, when it has one
    prompt: list[Message]
    chosen: list[Answer]
    rejected: list[Answer] = field(default_factory=list)


Adapter = Callable[[dict, str | None], RawExample]
ADAPTERS: dict[str, Adapter] = {}


def register_format(name: str) -> Callable[[Adapter], Adapter]:
    """Register an adapter: a function (record, subset from the catalog or None) -> RawExample."""

    def decorator(adapter: Adapter) -> Adapter:
        ADAPTERS[name] = adapter
        return adapter

    return decorator


def get_adapter(name: str) -> Adapter:
    """The adapter registered under `name`."""
    if name not in ADAPTERS:
        raise SourceError(f"unknown format {name!r} (known: {', '.join(sorted(ADAPTERS))})")
    return ADAPTERS[name]


# ---------------------------------------------------------------- reading files


def read_records(path: Path) -> Iterator[tuple[int, dict]]:
    """(row index, record) for a JSON list, JSON Lines (optionally .gz) or Parquet file."""
    name = path.name.lower()
    if name.endswith(".parquet"):
        yield from enumerate(pq.read_table(path).to_pylist())
        return
    opener = gzip.open if name.endswith(".gz") else open
    try:
        with opener(path, "rt", encoding="utf-8") as handle:
            text = handle.read()
    except UnicodeDecodeError as exc:
        raise SourceError(f"{path}: not UTF-8 at byte {exc.start}") from None
    except OSError as exc:
        raise SourceError(f"{path}: cannot read: {exc}") from None
    if name.endswith((".jsonl", ".jsonl.gz")):
        yield from _json_lines(path, text)
        return
    if not name.endswith((".json", ".json.gz")):
        raise SourceError(f"{path}: unknown file type (expected .json, .jsonl or .parquet)")
    try:
        document = json.loads(text)
    except json.JSONDecodeError as exc:
        if exc.msg == "Extra data":  # a .json file holding JSON Lines
            yield from _json_lines(path, text)
            return
        raise SourceError(
            f"{path}: invalid JSON at line {exc.lineno} column {exc.colno}: {exc.msg}"
        ) from None
    if not isinstance(document, list):
        raise SourceError(f"{path}: expected a JSON list of records, got {type(document).__name__}")
    yield from enumerate(document)


def _json_lines(path: Path, text: str) -> Iterator[tuple[int, dict]]:
    for index, line in enumerate(text.splitlines()):
        if not line.strip():
            continue
        try:
            yield index, json.loads(line)
        except json.JSONDecodeError as exc:
            raise SourceError(f"{path}: invalid JSON on line {index + 1}: {exc.msg}") from None


# ---------------------------------------------------------------- field helpers


def _field(record: dict, name: str) -> object:
    if not isinstance(record, dict):
        raise RowError(f"expected an object, got {type(record).__name__}")
    if name not in record or record[name] is None:
        raise RowError(f"missing field {name!r}")
    return record[name]


def _text(record: dict, name: str) -> str:
    value = _field(record, name)
    if not isinstance(value, str):
        raise RowError(f"field {name!r} must be a string, got {type(value).__name__}")
    return value


def _messages(value: object, name: str) -> list[Message]:
    if not isinstance(value, list):
        raise RowError(f"field {name!r} must be a list of messages")
    messages = []
    for index, message in enumerate(value):
        if not isinstance(message, dict) or "role" not in message or "content" not in message:
            raise RowError(f"{name}[{index}] must have 'role' and 'content'")
        if not isinstance(message["content"], str):
            raise RowError(f"{name}[{index}].content must be a string")
        messages.append({"role": str(message["role"]), "content": message["content"]})
    return messages


def _answer(value: object, name: str) -> Answer:
    if not isinstance(value, dict):
        raise RowError(f"field {name!r} must be an object with 'answer'")
    text = value.get("answer")
    if not isinstance(text, str):
        raise RowError(f"field {name}.answer must be a string")
    return Answer(text, value.get("llm_name"))


def split_conversation(value: object, name: str) -> tuple[list[Message], str | None]:
    """A prompt given as a message list, or a conversation ending in the assistant's answer."""
    messages = _messages(value, name)
    if messages and messages[-1]["role"] == "assistant":
        return messages[:-1], messages[-1]["content"]
    return messages, None


# ---------------------------------------------------------------- adapters


@register_format("rewardbench")
def rewardbench_row(record: dict, subset: str | None) -> RawExample:
    """RewardBench's Hub shape: prompt, chosen, rejected (strings), chosen_model, subset, id."""
    prompt = [{"role": "user", "content": _text(record, "prompt")}]
    return RawExample(
        subset=subset or _text(record, "subset"),
        source_id=str(_field(record, "id")),
        prompt=prompt,
        chosen=[Answer(_text(record, "chosen"), record.get("chosen_model"))],
        rejected=[Answer(_text(record, "rejected"), record.get("rejected_model"))],
    )


@register_format("preference")
def preference_row(record: dict, subset: str | None) -> RawExample:
    """A user's file as rewardbench's `--dataset` reads it: prompt + chosen + rejected, where each
    is a string or a message list (a chosen/rejected list is a whole conversation ending in the answer)."""
    raw_prompt = record.get("prompt") if isinstance(record, dict) else None
    answers: dict[str, Answer] = {}
    prompt: list[Message] | None = None
    for name in ("chosen", "rejected"):
        value = _field(record, name)
        if isinstance(value, str):
            answers[name] = Answer(value, record.get(f"{name}_model"))
            continue
        conversation, answer = split_conversation(value, name)
        if answer is None:
            raise RowError(f"field {name!r} must end with an assistant message")
        answers[name] = Answer(answer, record.get(f"{name}_model"))
        prompt = prompt if prompt is not None else conversation
    if raw_prompt is not None:
        prompt = (
            [{"role": "user", "content": raw_prompt}]
            if isinstance(raw_prompt, str)
            else _messages(raw_prompt, "prompt")
        )
    if not prompt:
        raise RowError("missing field 'prompt'")
    source_id = record.get("id")
    return RawExample(
        subset=subset or str(record.get("subset") or "default"),
        source_id=None if source_id is None else str(source_id),
        prompt=prompt,
        chosen=[answers["chosen"]],
        rejected=[answers["rejected"]],
    )


@register_format("llmbar")
def llmbar_row(record: dict, subset: str | None) -> RawExample:
    """LLMBar's release: input, output_1, output_2, label (1 or 2 names the better output)."""
    label = _field(record, "label")
    if label not in (1, 2):
        raise RowError(f"field 'label' must be 1 or 2, got {label!r}")
    outputs = {1: _text(record, "output_1"), 2: _text(record, "output_2")}
    return RawExample(
        subset=subset or "llmbar",
        source_id=None,
        prompt=[{"role": "user", "content": _text(record, "input")}],
        chosen=[Answer(outputs[label])],
        rejected=[Answer(outputs[3 - label])],
    )


@register_format("rmb-pairwise")
def rmb_pairwise_row(record: dict, subset: str | None) -> RawExample:
    """RMB pairwise: pair_uid, conversation_input, chosen/reject {llm_name, answer}."""
    return RawExample(
        subset=subset or _text(record, "category_path"),
        source_id=str(_field(record, "pair_uid")),
        prompt=_messages(_field(record, "conversation_input"), "conversation_input"),
        chosen=[_answer(_field(record, "chosen"), "chosen")],
        rejected=[_answer(_field(record, "reject"), "reject")],
    )


@register_format("rmb-bon")
def rmb_bon_row(record: dict, subset: str | None) -> RawExample:
    """RMB best-of-N: bon_uid, conversation_input, bon_best, loser_list."""
    losers = _field(record, "loser_list")
    if not isinstance(losers, list) or not losers:
        raise RowError("field 'loser_list' must be a non-empty list")
    return RawExample(
        subset=subset or _text(record, "category_path"),
        source_id=str(_field(record, "bon_uid")),
        prompt=_messages(_field(record, "conversation_input"), "conversation_input"),
        chosen=[_answer(_field(record, "bon_best"), "bon_best")],
        rejected=[_answer(loser, f"loser_list[{i}]") for i, loser in enumerate(losers)],
    )
