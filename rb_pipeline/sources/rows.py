"""Row models: a source row is validated by a pydantic model of its shape (strict: no coercion, "1" is
not 1); `validate_row` turns the first failure into a RowError naming the field. Fields a shape does
not declare are ignored. Benchmark data (`sources.formats`) and published results
(`sources.results`) declare their rows with these.
"""

from __future__ import annotations

from typing import TypeVar

from pydantic import AfterValidator, BaseModel, ConfigDict, StrictInt, StrictStr, ValidationError
from typing_extensions import TypedDict

from rb_pipeline.sources.records import type_name


class RowError(ValueError):
    """One record is malformed; it is quarantined, not dropped."""


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
            return f"expected an object, got {type_name(value)}"
        if value is None:
            return f"{where} is null"
        members = [other for at, other in located if at == loc and other["type"] in _TYPE_WORDS]
        words = [_UNION_WORDS.get(str(e["loc"][-1]), _TYPE_WORDS[e["type"]]) for e in members]
        return f"{where} must be {' or '.join(dict.fromkeys(words))}, got {type_name(value)}"
    return f"{where}: {error['msg']}".strip(": ")


_Row = TypeVar("_Row", bound=SourceRow)


def validate_row(shape: type[_Row], record: object) -> _Row:
    """`record` as a `shape` model; a RowError naming the field when it does not fit."""
    try:
        return shape.model_validate(record)
    except ValidationError as exc:
        raise RowError(describe_validation_error(exc)) from None
