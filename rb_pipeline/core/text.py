"""How things read as text, each in one place: an error on one line, a validation problem, a table cell."""

from __future__ import annotations

from pydantic import ValidationError


def first_line(exc: BaseException) -> str:
    """The first line of an exception's message (its type name when the message is empty): errors are
    reported on one line, naming the file and the row, and tracebacks or DuckDB's hints stay out."""
    lines = [line.strip() for line in str(exc).splitlines() if line.strip()]
    if not lines:
        return type(exc).__name__
    # a heading ending in ':' (Dagster's "1 blocking asset check failed ...:") names nothing alone
    return f"{lines[0]} {lines[1]}" if lines[0].endswith(":") and len(lines) > 1 else lines[0]


def validation_problem(error: ValidationError, prefix: str = "") -> str:
    """`<key>: <message>` for the first problem pydantic found, the key dotted from `prefix` (where the
    validated object sits, e.g. `models.3`) down to the field; our own checks name their key themselves."""
    first = error.errors()[0]
    key = ".".join(str(part) for part in (prefix, *first["loc"]) if part != "")
    message = first["msg"].removeprefix("Value error, ")
    return f"{key}: {message}" if key else message


def table_cell(value: object, digits: int = 4, markdown: bool = False) -> str:
    """A table cell: None as a dash, floats rounded to `digits` (NaN as `nan`); in a markdown table `|`
    and line breaks escaped."""
    if value is None:
        return "—"
    text = f"{value:.{digits}f}" if isinstance(value, float) else str(value)
    return text.replace("|", "\\|").replace("\n", " ") if markdown else text
