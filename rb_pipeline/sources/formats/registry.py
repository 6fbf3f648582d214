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
from typing import Annotated, TypeVar

import pyarrow as pa
import pyarrow.parquet as pq
from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    StrictInt,
    StrictStr,
    ValidationError,
    model_validator,
)
from typing_extensions import TypedDict

from rb_pipeline.core.text import first_line

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
            if "\r" in line.rstrip("\r"):  # records joined by CR alone read as one line
                cut = " (its lines end in CR alone, old Mac style: convert the line ends to LF)"
            elif index == len(lines) - 1:
                cut = " (the last line, with no line end: is the file cut short?)"
            else:
                cut = ""
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
    if exc.msg == "Invalid control character at":  # Python's wording stops short of naming it
        return (
            f"a raw control character U+{ord(exc.doc[exc.pos]):04X} inside a string"
            " (JSON needs it escaped: \\n, \\t or \\uXXXX)"
        )
    return exc.msg


def _parquet_records(path: Path) -> Iterator[tuple[int, object]]:
    try:
        table = pq.read_table(path)
    except (OSError, pa.ArrowException) as exc:
        raise SourceError(f"{path}: not a readable Parquet file: {first_line(exc)}") from None
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
            raise SourceError(f"{path}: not a readable Parquet file: {first_line(exc)}") from None
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


# ---------------------------------------------------------------- row models

# A source row is validated by a pydantic model of its shape (strict: no coercion, "1" is not 1);
# `validate_row` turns the first failure into a RowError naming the field. Fields a shape does not
# declare are ignored.


def _type_name(value: object) -> str:
    return {dict: "an object", list: "a list", str: "a string", type(None): "null"}.get(
        type(value), type(value).__name__
    )


def count_between(minimum: int, maximum: int | None = None, items: str = "strings") -> AfterValidator:
    """A list of `minimum`..`maximum` items (exactly `minimum` when both are equal)."""

    def check(value: list) -> list:
        if len(value) < minimum or (maximum is not None and len(value) > maximum):
            if minimum == maximum:
                wanted = f"{minimum} {items}"
            else:
                wanted = f"at least one {items.removesuffix('s')}" if minimum == 1 else f"{minimum}+ {items}"
            raise ValueError(f"must hold {wanted}, got {len(value)}")
        return value

    return AfterValidator(check)


def one_of(*allowed: object) -> AfterValidator:
    """A value among `allowed` (literals that, unlike `Literal`, refuse True for 1)."""

    def check(value: object) -> object:
        if value not in allowed:
            raise ValueError(f"must be {' or '.join(repr(a) for a in allowed)}, got {value!r}")
        return value

    return AfterValidator(check)


class SourceRow(BaseModel):
    """Base of every row shape: strict types, unknown fields ignored."""

    model_config = ConfigDict(strict=True, extra="ignore")


class Turn(TypedDict):
    role: StrictStr
    content: StrictStr


Messages = list[Turn]
Texts = list[StrictStr]
Id = StrictStr | StrictInt  # a source's own id (never a bool)
Text = StrictStr
Prompt = StrictStr | Messages  # a plain question, or a message list
# Union members as pydantic names them in an error's location, in words
_UNION_WORDS = {
    "str": "a string",
    "int": "an integer",
    "float": "a number",
    "bool": "a boolean",
    "list[Turn]": "a list of messages",
}
_TYPE_WORDS = {
    "string_type": "a string",
    "int_type": "an integer",
    "bool_type": "a boolean",
    "float_type": "a number",
    "list_type": "a list",
    "dict_type": "an object",
    "model_type": "an object",
}


def _where(loc: tuple) -> str:
    """`field 'chosen'` for a top-level field, `prompt[0].content` deeper down, "" for the row itself."""
    if len(loc) == 1:
        return f"field {loc[0]!r}"
    return "".join(f"[{part}]" if isinstance(part, int) else f".{part}" for part in loc).lstrip(".")


def describe_validation_error(exc: ValidationError) -> str:
    """One line for the first problem of a row: where (field or path), what was expected, what came.

    Of the errors pydantic reports, the deepest is the one that explains the row (a message list that
    matched but holds a bad turn); the failures of a union's members at one place are joined into
    'a string or a list of messages'."""
    errors = exc.errors(include_url=False)
    located = [(tuple(p for p in e["loc"] if p not in _UNION_WORDS), e) for e in errors]
    loc, error = max(located, key=lambda item: len(item[0]))
    where, kind, value = _where(loc), error["type"], error.get("input")
    if kind == "missing":
        return f"missing field {loc[0] if len(loc) == 1 else where!r}"
    if kind == "value_error":
        return f"{where} {error['ctx']['error']}".strip()
    if kind in _TYPE_WORDS:
        if not loc:
            return f"expected an object, got {_type_name(value)}"
        if value is None:
            return f"{where} is null"
        members = [other for at, other in located if at == loc and other["type"] in _TYPE_WORDS]
        words = [_UNION_WORDS.get(str(e["loc"][-1]), _TYPE_WORDS[e["type"]]) for e in members]
        return f"{where} must be {' or '.join(dict.fromkeys(words))}, got {_type_name(value)}"
    return f"{where}: {error['msg']}".strip(": ")


_Row = TypeVar("_Row", bound=SourceRow)


def validate_row(shape: type[_Row], record: object) -> _Row:
    """`record` as a `shape` model; a RowError naming the field when it does not fit."""
    try:
        return shape.model_validate(record)
    except ValidationError as exc:
        raise RowError(describe_validation_error(exc)) from None


def _user(text: str) -> list[Message]:
    return [{"role": "user", "content": text}]


def _prompt(value: str | list[Message]) -> list[Message]:
    return _user(value) if isinstance(value, str) else list(value)


def _subset(subset: str | None, field_value: str | None, name: str = "subset") -> str:
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


# ---------------------------------------------------------------- adapters


class RewardBenchRow(SourceRow):
    """RewardBench's Hub shape (`allenai/reward-bench`)."""

    id: Id
    prompt: Text
    chosen: Text
    rejected: Text
    chosen_model: Text | None = None
    rejected_model: Text | None = None
    subset: Text | None = None


@register_format("rewardbench")
def rewardbench_row(record: dict, subset: str | None) -> RawExample:
    """RewardBench's Hub shape: prompt, chosen, rejected (strings), chosen_model, subset, id."""
    row = validate_row(RewardBenchRow, record)
    return RawExample(
        subset=_subset(subset, row.subset),
        source_id=str(row.id),
        prompt=_user(row.prompt),
        chosen=[Answer(row.chosen, row.chosen_model)],
        rejected=[Answer(row.rejected, row.rejected_model)],
    )


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
        prompt = _prompt(given)
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
        prompt=_user(row.input),
        chosen=[Answer(outputs[row.label])],
        rejected=[Answer(outputs[3 - row.label])],
    )


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
    return RawExample(
        subset=_subset(subset, row.category_path, "category_path"),
        source_id=str(row.pair_uid),
        prompt=row.conversation_input,
        chosen=[row.chosen.as_answer()],
        rejected=[row.reject.as_answer()],
    )


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
    return RawExample(
        subset=_subset(subset, row.category_path, "category_path"),
        source_id=str(row.bon_uid),
        prompt=row.conversation_input,
        chosen=[row.bon_best.as_answer()],
        rejected=[loser.as_answer() for loser in row.loser_list],
    )


def _one_and_zero(labels: list[int]) -> list[int]:
    if sorted(labels) != [0, 1]:
        raise ValueError(f"must be [1, 0] or [0, 1], got {labels!r}")
    return labels


class BigBenchTargets(SourceRow):
    choices: Annotated[Texts, count_between(2, 2)]
    labels: Annotated[list[StrictInt], AfterValidator(_one_and_zero)]


class BigBenchPairRow(SourceRow):
    """A BIG-bench multiple-choice record with two choices."""

    input: Text
    targets: BigBenchTargets


@register_format("bigbench-pair")
def bigbench_pair_row(record: dict, subset: str | None) -> RawExample:
    """A BIG-bench multiple-choice record with two choices (Anthropic HHH, prior set `anthropic_hhh`):
    input, targets {choices, labels}; the choice labelled 1 is chosen, the one labelled 0 rejected.
    Every one of the 221 HHH records has exactly two choices, so one record is one RewardBench pair."""
    row = validate_row(BigBenchPairRow, record)
    best = row.targets.labels.index(1)
    return RawExample(
        subset=subset or "",
        source_id=None,
        prompt=_user(row.input),
        chosen=[Answer(row.targets.choices[best])],
        rejected=[Answer(row.targets.choices[1 - best])],
    )


class PrefTestSetsRow(SourceRow):
    """`allenai/pref-test-sets` (RewardBench's prior sets)."""

    prompt: Prompt
    chosen: Text
    rejected: Text
    subset: Text | None = None
    id: Id | None = None


@register_format("pref-test-sets")
def pref_test_sets_row(record: dict, subset: str | None) -> RawExample:
    """`allenai/pref-test-sets` (RewardBench's prior sets; one split per subset): prompt (a message
    list, or a string), chosen and rejected (strings), id. Roles are re-read by position (user first,
    alternating), as rewardbench's `prepare_dialogue` does; ids are per split, so the id is
    `<split>/<id>`."""
    row = validate_row(PrefTestSetsRow, record)
    split = _subset(subset, row.subset)
    if isinstance(row.prompt, str):
        prompt = _user(row.prompt)
    else:
        prompt = [
            {"role": ("user", "assistant")[i % 2], "content": m["content"]} for i, m in enumerate(row.prompt)
        ]
    return RawExample(
        subset=split,
        source_id=None if row.id is None else f"{split}/{row.id}",
        prompt=prompt,
        chosen=[Answer(row.chosen)],
        rejected=[Answer(row.rejected)],
    )


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
    name = _subset(subset, row.subset)
    return RawExample(
        subset=name,
        source_id=f"{name}/{row.id}",
        prompt=_prompt(row.prompt),
        chosen=[Answer(text) for text in row.chosen],
        rejected=[Answer(text) for text in row.rejected],
    )


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
            prompt=_user(row.prompt),
            chosen=[Answer(row.chosen[i])],
            rejected=[Answer(row.rejected[j])],
        )
        for i in range(len(row.chosen))
        for j in range(len(row.rejected))
    ]


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
        prompt=_user(row.question),
        chosen=[Answer(better, row.response_model)],
        rejected=[Answer(worse, row.response_model)],
    )
