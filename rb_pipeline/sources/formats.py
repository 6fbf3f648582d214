"""Format adapters: turn one source record into raw examples (prompt, chosen and rejected answers).

Each adapter is registered by name (`@register_format("rmb-pairwise")`) and named from the catalog.
An adapter returns one `RawExample`, or a list of them when one source row holds several examples
(RM-Bench's 3 x 3 style grid). A record an adapter cannot read raises `RowError`; the caller
quarantines the whole row with its file and row. A file that cannot be read at all raises
`SourceError`, naming the file and the position (line, column or byte).
"""

from __future__ import annotations

import gzip
import json
import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

Message = dict[str, str]
VALID_ROLES = ("system", "user", "assistant")
UTF8_BOM = b"\xef\xbb\xbf"


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


# ---------------------------------------------------------------- reading files


def read_records(path: Path) -> Iterator[tuple[int, object]]:
    """(row, record) for a JSON list, JSON Lines (optionally .gz) or Parquet file.

    `row` is the 0-based record index; for JSON Lines it is the 0-based line index (line = row + 1,
    blank lines are skipped but counted). A UTF-8 byte-order mark is accepted. A `.json` file that
    holds JSON Lines is read as JSON Lines.
    """
    name = path.name.lower()
    if name.endswith(".parquet"):
        yield from _parquet_records(path)
        return
    if not name.endswith((".json", ".jsonl", ".json.gz", ".jsonl.gz")):
        raise SourceError(
            f"{path}: unknown file type (expected .json, .jsonl, .json.gz, .jsonl.gz or .parquet)"
        )
    text = _read_text(path)
    if not text.strip():
        raise SourceError(f"{path}: empty file (no records)")
    if name.endswith((".jsonl", ".jsonl.gz")):
        yield from _json_lines(path, text)
        return
    try:
        document = json.loads(text)
    except json.JSONDecodeError as exc:
        if exc.msg == "Extra data" and text.lstrip().startswith("{"):  # a .json file holding JSON Lines
            yield from _json_lines(path, text)
            return
        raise SourceError(
            f"{path}: invalid JSON at line {exc.lineno} column {exc.colno}: {_json_problem(exc)}"
        ) from None
    except RecursionError:
        raise SourceError(f"{path}: invalid JSON: {NESTED_TOO_DEEPLY}") from None
    if not isinstance(document, list):
        raise SourceError(f"{path}: expected a JSON list of records, got {_type_name(document)}")
    if not document:
        raise SourceError(f"{path}: empty JSON list (no records)")
    yield from enumerate(document)


def _read_text(path: Path) -> str:
    try:
        raw = path.read_bytes()
        if path.name.lower().endswith(".gz"):
            raw = gzip.decompress(raw)
    except (OSError, EOFError, zlib.error) as exc:  # gzip.BadGzipFile is an OSError
        raise SourceError(f"{path}: cannot read: {exc}") from None
    if raw.startswith(UTF8_BOM):
        raw = raw[len(UTF8_BOM) :]
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = raw.count(b"\n", 0, exc.start) + 1
        column = exc.start - (raw.rfind(b"\n", 0, exc.start) + 1) + 1
        raise SourceError(
            f"{path}: not UTF-8: byte {exc.start} (0x{raw[exc.start]:02x}) at line {line} column {column}"
        ) from None


def _json_lines(path: Path, text: str) -> Iterator[tuple[int, object]]:
    # split on "\n" only: str.splitlines() also breaks at U+2028 and friends, valid inside JSON strings
    lines = text.split("\n")
    for index, line in enumerate(lines):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
        except json.JSONDecodeError as exc:
            cut = (
                " (the last line, with no line end: is the file cut short?)"
                if index == len(lines) - 1
                else ""
            )
            raise SourceError(
                f"{path}: invalid JSON on line {index + 1} column {exc.colno}: {_json_problem(exc)}{cut}"
            ) from None
        except RecursionError:
            raise SourceError(f"{path}: invalid JSON on line {index + 1}: {NESTED_TOO_DEEPLY}") from None
        yield index, record


NESTED_TOO_DEEPLY = "nested too deeply (arrays or objects more than ~1000 levels deep)"


def _json_problem(exc: json.JSONDecodeError) -> str:
    if exc.msg.startswith("Unexpected UTF-8 BOM"):  # Python's wording names a Python codec
        return "a UTF-8 byte-order mark inside the file (files joined together?)"
    return exc.msg


def _parquet_records(path: Path) -> Iterator[tuple[int, object]]:
    try:
        table = pq.read_table(path)
    except (OSError, pa.ArrowException) as exc:
        raise SourceError(f"{path}: not a readable Parquet file: {str(exc).splitlines()[0]}") from None
    if table.num_rows == 0:
        raise SourceError(f"{path}: empty Parquet file (no records)")
    yield from enumerate(table.to_pylist())


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


def file_stem(path: Path) -> str:
    """A file's name without its data extensions (`prefs.jsonl.gz` -> `prefs`): the default subset."""
    name = path.name
    if name.lower().endswith(".gz"):
        name = name[: -len(".gz")]
    for suffix in (".jsonl", ".json", ".parquet"):
        if name.lower().endswith(suffix):
            return name[: -len(suffix)]
    return name


def record_keys(path: Path) -> set[str]:
    """The field names of a file's first record (the column names of a Parquet file)."""
    if path.name.lower().endswith(".parquet"):
        try:
            return set(pq.read_schema(path).names)
        except (OSError, pa.ArrowException) as exc:
            raise SourceError(f"{path}: not a readable Parquet file: {str(exc).splitlines()[0]}") from None
    for row, record in read_records(path):
        if not isinstance(record, dict):
            raise SourceError(f"{path}: row {row}: expected an object, got {_type_name(record)}")
        return set(record)
    raise SourceError(f"{path}: empty file (no records)")  # pragma: no cover (read_records raises first)


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


# ---------------------------------------------------------------- field helpers


def _type_name(value: object) -> str:
    return {dict: "an object", list: "a list", str: "a string", type(None): "null"}.get(
        type(value), type(value).__name__
    )


def _field(record: object, name: str) -> object:
    if not isinstance(record, dict):
        raise RowError(f"expected an object, got {_type_name(record)}")
    if name not in record:
        raise RowError(f"missing field {name!r}")
    if record[name] is None:
        raise RowError(f"field {name!r} is null")
    return record[name]


def _text(record: object, name: str) -> str:
    value = _field(record, name)
    if not isinstance(value, str):
        raise RowError(f"field {name!r} must be a string, got {_type_name(value)}")
    return value


def _texts(record: object, name: str, count: int | None = None) -> list[str]:
    """A non-empty list of strings (exactly `count` of them when given)."""
    value = _field(record, name)
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise RowError(f"field {name!r} must be a list of strings, got {_type_name(value)}")
    if not value or (count is not None and len(value) != count):
        wanted = "at least one string" if count is None else f"{count} strings"
        raise RowError(f"field {name!r} must hold {wanted}, got {len(value)}")
    return value


def _optional_text(record: dict, name: str) -> str | None:
    value = record.get(name)
    if value is not None and not isinstance(value, str):
        raise RowError(f"field {name!r} must be a string, got {_type_name(value)}")
    return value


def _optional_id(record: dict, name: str = "id") -> str | None:
    value = record.get(name)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (str, int)):
        raise RowError(f"field {name!r} must be a string or an integer, got {_type_name(value)}")
    return str(value)


def _messages(value: object, name: str) -> list[Message]:
    if not isinstance(value, list):
        raise RowError(f"field {name!r} must be a list of messages, got {_type_name(value)}")
    messages = []
    for index, message in enumerate(value):
        if not isinstance(message, dict) or "role" not in message or "content" not in message:
            raise RowError(f"{name}[{index}] must be an object with 'role' and 'content'")
        for key in ("role", "content"):
            if not isinstance(message[key], str):
                raise RowError(f"{name}[{index}].{key} must be a string, got {_type_name(message[key])}")
        messages.append({"role": message["role"], "content": message["content"]})
    return messages


def _answer(value: object, name: str) -> Answer:
    if not isinstance(value, dict):
        raise RowError(f"field {name!r} must be an object with 'answer', got {_type_name(value)}")
    text = value.get("answer")
    if not isinstance(text, str):
        raise RowError(f"field {name}.answer must be a string, got {_type_name(text)}")
    return Answer(text, value.get("llm_name"))


def _user(text: str) -> list[Message]:
    return [{"role": "user", "content": text}]


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
    return RawExample(
        subset=subset or _text(record, "subset"),
        source_id=str(_field(record, "id")),
        prompt=_user(_text(record, "prompt")),
        chosen=[Answer(_text(record, "chosen"), record.get("chosen_model"))],
        rejected=[Answer(_text(record, "rejected"), record.get("rejected_model"))],
    )


@register_format("preference")
def preference_row(record: dict, subset: str | None) -> RawExample:
    """A user's file as rewardbench's `--dataset` reads it: prompt + chosen + rejected, where each
    is a string or a message list (a chosen/rejected list is a whole conversation ending in the answer).
    `question` or `input` stand for a missing `prompt` (rewardbench renames them the same way)."""
    answers: dict[str, Answer] = {}
    conversation_prompt: list[Message] | None = None
    for name in ("chosen", "rejected"):
        value = _field(record, name)
        model = _optional_text(record, f"{name}_model")
        if isinstance(value, str):
            answers[name] = Answer(value, model)
            continue
        if not isinstance(value, list):
            raise RowError(f"field {name!r} must be a string or a list of messages, got {_type_name(value)}")
        conversation, answer = split_conversation(value, name)
        if answer is None:
            raise RowError(f"field {name!r} must end with an assistant message")
        answers[name] = Answer(answer, model)
        if (
            conversation_prompt is not None and conversation != conversation_prompt
        ):  # which one is "the" prompt?
            raise RowError("chosen and rejected are conversations with different prompts")
        conversation_prompt = conversation
    prompt_key = next((k for k in ("prompt", "question", "input") if record.get(k) is not None), None)
    if prompt_key is not None:
        raw_prompt = record[prompt_key]
        prompt = _user(raw_prompt) if isinstance(raw_prompt, str) else _messages(raw_prompt, prompt_key)
    elif conversation_prompt:
        prompt = conversation_prompt
    else:
        raise RowError("missing field 'prompt' (and chosen/rejected are not conversations)")
    return RawExample(
        subset=subset or _optional_text(record, "subset") or "",
        source_id=_optional_id(record),
        prompt=prompt,
        chosen=[answers["chosen"]],
        rejected=[answers["rejected"]],
    )


@register_format("messages")
def messages_row(record: dict, subset: str | None) -> RawExample:
    """A conversation ending in the assistant's answer (`messages` only): one response labelled
    chosen and no rejected one, so it is scored but has no accuracy."""
    conversation, answer = split_conversation(_field(record, "messages"), "messages")
    if answer is None:
        raise RowError("field 'messages' must end with an assistant message")
    return RawExample(
        subset=subset or _optional_text(record, "subset") or "",
        source_id=_optional_id(record),
        prompt=conversation,
        chosen=[Answer(answer, _optional_text(record, "model"))],
    )


@register_format("llmbar")
def llmbar_row(record: dict, subset: str | None) -> RawExample:
    """LLMBar's release: input, output_1, output_2, label (1 or 2 names the better output)."""
    label = _field(record, "label")
    if label not in (1, 2) or isinstance(label, bool):
        raise RowError(f"field 'label' must be 1 or 2, got {label!r}")
    outputs = {1: _text(record, "output_1"), 2: _text(record, "output_2")}
    return RawExample(
        subset=subset or "",
        source_id=None,
        prompt=_user(_text(record, "input")),
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


@register_format("bigbench-pair")
def bigbench_pair_row(record: dict, subset: str | None) -> RawExample:
    """A BIG-bench multiple-choice record with two choices (Anthropic HHH, prior set `anthropic_hhh`):
    input, targets {choices, labels}; the choice labelled 1 is chosen, the one labelled 0 rejected.
    Every one of the 221 HHH records has exactly two choices, so one record is one RewardBench pair."""
    targets = _field(record, "targets")
    choices, labels = _texts(targets, "choices", 2), _field(targets, "labels")
    if not isinstance(labels, list) or sorted(labels) != [0, 1]:
        raise RowError(f"field 'targets.labels' must be [1, 0] or [0, 1], got {labels!r}")
    best = labels.index(1)
    return RawExample(
        subset=subset or "",
        source_id=None,
        prompt=_user(_text(record, "input")),
        chosen=[Answer(choices[best])],
        rejected=[Answer(choices[1 - best])],
    )


@register_format("pref-test-sets")
def pref_test_sets_row(record: dict, subset: str | None) -> RawExample:
    """`allenai/pref-test-sets` (RewardBench's prior sets; one split per subset): prompt (a message
    list, or a string), chosen and rejected (strings), id. Roles are re-read by position (user first,
    alternating), as rewardbench's `prepare_dialogue` does; ids are per split, so the id is
    `<split>/<id>`."""
    split = subset or _text(record, "subset")
    raw_prompt = _field(record, "prompt")
    if isinstance(raw_prompt, str):
        prompt = _user(raw_prompt)
    else:
        turns = _messages(raw_prompt, "prompt")
        prompt = [
            {"role": ("user", "assistant")[i % 2], "content": m["content"]} for i, m in enumerate(turns)
        ]
    source_id = _optional_id(record)
    return RawExample(
        subset=split,
        source_id=None if source_id is None else f"{split}/{source_id}",
        prompt=prompt,
        chosen=[Answer(_text(record, "chosen"))],
        rejected=[Answer(_text(record, "rejected"))],
    )


@register_format("rewardbench-2")
def rewardbench2_row(record: dict, subset: str | None) -> RawExample:
    """RewardBench 2 (`allenai/reward-bench-2`, split `test`): id, prompt, chosen and rejected (lists
    of strings: 1 chosen + 3 rejected; Ties: several chosen), num_correct, subset. Ids repeat across
    subsets (and Ties uses `ref:<n>` / `tied:<n>`), so the example id is `<subset>/<id>`."""
    name = subset or _text(record, "subset")
    chosen, rejected = _texts(record, "chosen"), _texts(record, "rejected")
    num_correct = record.get("num_correct")
    if num_correct is not None and num_correct != len(chosen):
        raise RowError(f"field 'num_correct' is {num_correct!r} but 'chosen' holds {len(chosen)} answers")
    raw_prompt = _field(record, "prompt")
    prompt = _user(raw_prompt) if isinstance(raw_prompt, str) else _messages(raw_prompt, "prompt")
    return RawExample(
        subset=name,
        source_id=f"{name}/{_field(record, 'id')}",
        prompt=prompt,
        chosen=[Answer(text) for text in chosen],
        rejected=[Answer(text) for text in rejected],
    )


RM_BENCH_STYLES = ("concise", "detailed", "markdown")  # index order of RM-Bench's chosen/rejected lists


def rm_bench_level(chosen_style: int, rejected_style: int) -> str:
    """RM-Bench's difficulty of a (chosen style i, rejected style j) comparison: the upper triangle
    (i < j, a plainer chosen against a fancier rejected) is hard, the diagonal normal, the rest easy."""
    if chosen_style < rejected_style:
        return "hard"
    return "normal" if chosen_style == rejected_style else "easy"


@register_format("rm-bench")
def rm_bench_row(record: dict, subset: str | None) -> list[RawExample]:
    """RM-Bench (`<domain>_filtered.json`): id, prompt, chosen and rejected (3 styles each). One row
    becomes its 9 (chosen style i, rejected style j) pairs, subset `<domain>/<level>` and id
    `<domain>/<id>:<i>:<j>`, so pair accuracy per level is RM-Bench's hard/normal/easy accuracy."""
    if not subset:
        raise RowError("rm-bench needs the domain as the catalog's subset")
    chosen = _texts(record, "chosen", len(RM_BENCH_STYLES))
    rejected = _texts(record, "rejected", len(RM_BENCH_STYLES))
    for name, texts in (("chosen", chosen), ("rejected", rejected)):
        for style, text in enumerate(texts):
            if not text.strip():  # named here: each pair below holds only one of the styles
                raise RowError(f"{name}[{style}] ({RM_BENCH_STYLES[style]}): empty text")
    prompt = _user(_text(record, "prompt"))
    row_id = _optional_id(record)
    if row_id is None:
        raise RowError("missing field 'id'")
    return [
        RawExample(
            subset=f"{subset}/{rm_bench_level(i, j)}",
            source_id=f"{subset}/{row_id}:{i}:{j}",
            prompt=prompt,
            chosen=[Answer(chosen[i])],
            rejected=[Answer(rejected[j])],
        )
        for i in range(len(chosen))
        for j in range(len(rejected))
    ]


def judgebench_category(source: str) -> str:
    """JudgeBench's four reported categories from a pair's `source`."""
    if source.startswith("mmlu-pro"):
        return "knowledge"
    categories = {"livebench-reasoning": "reasoning", "livebench-math": "math", "livecodebench": "coding"}
    if source not in categories:
        raise RowError(f"field 'source' {source!r} is not a JudgeBench source")
    return categories[source]


@register_format("judgebench")
def judgebench_row(record: dict, subset: str | None) -> RawExample:
    """JudgeBench: pair_id, source, question, response_A, response_B, label (`A>B` or `B>A`),
    response_model. Subset `<response_model>/<category>` (knowledge, reasoning, math, coding)."""
    label = _text(record, "label")
    if label not in ("A>B", "B>A"):
        raise RowError(f"field 'label' must be 'A>B' or 'B>A', got {label!r}")
    model = _text(record, "response_model")
    better, worse = ("response_A", "response_B") if label == "A>B" else ("response_B", "response_A")
    return RawExample(
        subset=subset or f"{model}/{judgebench_category(_text(record, 'source'))}",
        source_id=_text(record, "pair_id"),
        prompt=_user(_text(record, "question")),
        chosen=[Answer(_text(record, better), model)],
        rejected=[Answer(_text(record, worse), model)],
    )
