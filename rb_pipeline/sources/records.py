"""Reading inbound files: the records of a benchmark's data file and the JSON of a published result
file, one reader for both. A file that cannot be read at all raises `SourceError`, naming the file and
the position (line, column or byte).
"""

from __future__ import annotations

import gzip
import json
import zlib
from collections.abc import Iterator
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from rb_pipeline.core.text import first_line

UTF8_BOM = b"\xef\xbb\xbf"


class SourceError(ValueError):
    """A whole file is unreadable (bad JSON, wrong top-level type, unknown format)."""


def type_name(value: object) -> str:
    """A JSON value's type in words (`an object`, `a list`, `null`), for messages."""
    return {dict: "an object", list: "a list", str: "a string", type(None): "null"}.get(
        type(value), type(value).__name__
    )


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
        raise SourceError(f"{path}: expected a JSON list of records, got {type_name(document)}")
    if not document:
        raise SourceError(f"{path}: empty JSON list (no records)")
    yield from enumerate(document)


def read_json(path: Path) -> object:
    """A JSON document (`.json` or `.jsonl`, optionally `.gz`; a UTF-8 byte-order mark is accepted); a
    file of several JSON values (JSON Lines, or objects written one after another as rewardbench's
    `save_to_hub` does for lists) becomes the list of those values."""
    text = _read_text(path)
    if not text.strip():
        raise SourceError(f"{path}: empty file")
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        if exc.msg != "Extra data":
            raise SourceError(
                f"{path}: invalid JSON at line {exc.lineno} column {exc.colno}: {_json_problem(exc)}"
            ) from None
    decoder = json.JSONDecoder()
    values, position = [], 0
    while True:
        while position < len(text) and text[position].isspace():
            position += 1
        if position >= len(text):
            return values
        try:
            value, position = decoder.raw_decode(text, position)
        except json.JSONDecodeError as exc:
            raise SourceError(
                f"{path}: invalid JSON value #{len(values) + 1} at line {exc.lineno} column {exc.colno}: "
                f"{_json_problem(exc)}"
            ) from None
        values.append(value)


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
            raise SourceError(f"{path}: row {row}: expected an object, got {type_name(record)}")
        return set(record)
    raise SourceError(f"{path}: empty file (no records)")  # pragma: no cover (read_records raises first)
