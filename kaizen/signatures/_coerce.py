"""Check a value against a TypeSpec, converting where the meaning is unambiguous.

Two modes share one walk over the type:
- lenient (model outputs): a small model writes `"42"` for an int or `"yes"` for a bool;
  those convert. Lossy or guessed conversions (`42.5` -> int, `"maybe"` -> bool, a list for a
  str) are rejected.
- strict (caller inputs): Python callers pass real types; only int -> float, tuple -> list and
  Enum value -> member convert.

Every problem is appended to `errors` with a path (`tags[2]`, `scores['a']`), so one call
reports all of them; the return value is then `INVALID`.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any, Final

from kaizen.errors import FieldError
from kaizen.signatures.typespec import (
    BOOL,
    DICT,
    ENUM,
    FLOAT,
    INT,
    LIST,
    LITERAL,
    OPTIONAL,
    STR,
    TypeSpec,
)


class _Invalid:
    __slots__ = ()

    def __repr__(self) -> str:
        return "INVALID"


INVALID: Final[Any] = _Invalid()

_TRUE = frozenset({"true", "yes"})
_FALSE = frozenset({"false", "no"})
_JSON_NAMES = {
    str: "a string",
    int: "an integer",
    float: "a number",
    bool: "a boolean",
    list: "a list",
    tuple: "a list",
    dict: "an object",
    type(None): "null",
}


def _shown(value: Any) -> str:
    """`got ...` wording: the value for scalars (shortened), the kind for containers."""
    if isinstance(value, str | int | float | bool) or value is None:
        text = repr(value)
        return text if len(text) <= 60 else text[:57] + "..."
    return _JSON_NAMES.get(type(value), type(value).__name__)


def _fail(errors: list[FieldError], path: str, expected: str, value: Any) -> Any:
    errors.append(FieldError(path, f"expected {expected}, got {_shown(value)}", value))
    return INVALID


def coerce(spec: TypeSpec, value: Any, path: str, errors: list[FieldError], strict: bool) -> Any:
    """`value` converted to `spec`, or INVALID after appending the reasons to `errors`."""
    kind = spec.kind
    if kind == OPTIONAL:
        return None if value is None else coerce(spec.args[0], value, path, errors, strict)
    if kind == STR:
        if isinstance(value, str):
            return value
        # Lenient: a model answering 42 for a str field meant "42"; bools stay rejected.
        if not strict and isinstance(value, int | float) and not isinstance(value, bool):
            return str(value)
        return _fail(errors, path, "a string", value)
    if kind == INT:
        return _to_int(value, path, errors, strict)
    if kind == FLOAT:
        return _to_float(value, path, errors, strict)
    if kind == BOOL:
        if isinstance(value, bool):
            return value
        if not strict and isinstance(value, str):
            word = value.strip().lower()
            if word in _TRUE:
                return True
            if word in _FALSE:
                return False
        return _fail(errors, path, "true or false", value)
    if kind == LIST:
        if not isinstance(value, list | tuple):
            return _fail(errors, path, "a list", value)
        item = spec.args[0]
        before = len(errors)
        out = [coerce(item, v, f"{path}[{i}]", errors, strict) for i, v in enumerate(value)]
        return INVALID if len(errors) > before else out
    if kind == DICT:
        return _to_dict(spec, value, path, errors, strict)
    if kind in (LITERAL, ENUM):
        return _to_member(spec, value, path, errors, strict)
    raise AssertionError(f"unhandled type kind {kind!r}")  # pragma: no cover


def _to_int(value: Any, path: str, errors: list[FieldError], strict: bool) -> Any:
    if isinstance(value, bool):
        return _fail(errors, path, "an integer", value)
    if isinstance(value, int):
        return value
    if not strict:
        number = value
        if isinstance(value, str):
            text = value.strip()
            try:
                return int(text)
            except ValueError:
                try:
                    number = float(text)
                except ValueError:
                    return _fail(errors, path, "an integer", value)
        if isinstance(number, float) and math.isfinite(number) and number.is_integer():
            return int(number)
    return _fail(errors, path, "an integer", value)


def _to_float(value: Any, path: str, errors: list[FieldError], strict: bool) -> Any:
    if isinstance(value, bool):
        return _fail(errors, path, "a number", value)
    number: Any = value
    if isinstance(value, int):
        number = float(value)
    elif isinstance(value, str) and not strict:
        try:
            number = float(value.strip())
        except ValueError:
            return _fail(errors, path, "a number", value)
    if isinstance(number, float):
        if math.isfinite(number):
            return number
        return _fail(errors, path, "a finite number", value)
    return _fail(errors, path, "a number", value)


def _to_dict(spec: TypeSpec, value: Any, path: str, errors: list[FieldError], strict: bool) -> Any:
    if not isinstance(value, Mapping):
        return _fail(errors, path, "an object", value)
    before = len(errors)
    for key in value:
        if not isinstance(key, str):
            errors.append(FieldError(f"{path}[{key!r}]", "object keys must be strings", key))
    if not spec.args:
        return INVALID if len(errors) > before else dict(value)
    item = spec.args[0]
    out = {k: coerce(item, v, f"{path}[{k!r}]", errors, strict) for k, v in value.items()}
    return INVALID if len(errors) > before else out


def _member_key(value: Any) -> tuple[bool, Any]:
    # bool is an int subclass: True must not match a Literal[1] member.
    return (type(value) is bool, value)


def _to_member(
    spec: TypeSpec, value: Any, path: str, errors: list[FieldError], strict: bool
) -> Any:
    enum_cls = spec.enum
    if enum_cls is not None and isinstance(value, enum_cls):
        return value
    values = spec.values
    try:
        index = [_member_key(v) for v in values].index(_member_key(value))
    except (ValueError, TypeError):
        index = -1 if strict else _lenient_member_index(spec, value)
    if index >= 0:
        return list(enum_cls)[index] if enum_cls is not None else values[index]
    expected = "one of " + ", ".join(repr(v) for v in values)
    return _fail(errors, path, expected, value)


def _lenient_member_index(spec: TypeSpec, value: Any) -> int:
    """Model output like " Pos", "POS" or "1" for a member pos / 1; -1 when ambiguous."""
    if not isinstance(value, str):
        return -1
    text = value.strip()
    enum_cls = spec.enum
    candidates: list[tuple[int, str]] = [(i, str(v)) for i, v in enumerate(spec.values)]
    if enum_cls is not None:
        candidates += [(i, m.name) for i, m in enumerate(enum_cls)]
    for exact in (True, False):
        wanted = text if exact else text.casefold()
        hits = {i for i, label in candidates if (label if exact else label.casefold()) == wanted}
        if len(hits) == 1:
            return hits.pop()
        if hits:
            return -1
    return -1
