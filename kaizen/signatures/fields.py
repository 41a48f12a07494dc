"""Field declarations (`InputField` / `OutputField`) and the immutable `FieldSpec` they become.

`InputField(...)` only records what the user wrote; the signature class turns it, together
with the annotation, into a validated `FieldSpec`. Every check that can fail happens then, at
class creation, so a bad signature never reaches a model.
"""

from __future__ import annotations

import keyword
import math
import re
from typing import Any, Final

from kaizen.errors import SignatureError
from kaizen.signatures.typespec import FLOAT, INT, LIST, STR, TypeSpec

INPUT: Final = "input"
OUTPUT: Final = "output"
DEFAULT_MAX_LENGTH: Final = 500
"""`maxLength` put on every string in a JSON Schema unless the field sets `max_length`:
it bounds what constrained decoding lets a small model emit."""

RESERVED_NAMES: Final = frozenset({"compile", "from_string"})
"""Attributes of `Signature` itself; a field of that name would shadow them."""


class _Missing:
    __slots__ = ()

    def __repr__(self) -> str:
        return "MISSING"

    def __bool__(self) -> bool:
        return False


MISSING: Final[Any] = _Missing()
"""Marks "no default" (None is a legitimate default)."""


class FieldInfo:
    """What `InputField(...)` / `OutputField(...)` recorded, before the type is known.

    A declaration without a default or constraints (the common case) is a `_PlainInput` /
    `_PlainOutput` holding only its description, every other attribute a class-level
    default: cheap to make, and recognisable by its type alone, which is what lets a
    signature class validate its fields with a few set operations (see `Signature`).
    Anything else is a `_DeclaredField` with every attribute set.
    """

    __slots__ = ("desc",)

    kind: str
    desc: str
    default: Any = MISSING
    min_length: int | None = None
    max_length: int | None = None
    ge: float | None = None
    le: float | None = None
    pattern: str | None = None

    def __get__(self, instance: Any, owner: type | None = None) -> Any:
        """Read through a signature class not yet derived (validated at definition, its
        `FieldSpec`s built on first use): derive it now and return the field's spec."""
        from kaizen.signatures.signature import _spec_for_declaration

        return _spec_for_declaration(owner, self)

    def __repr__(self) -> str:
        return f"{'InputField' if self.kind == INPUT else 'OutputField'}(desc={self.desc!r})"


class _PlainInput(FieldInfo):
    __slots__ = ()
    kind = INPUT


class _PlainOutput(FieldInfo):
    __slots__ = ()
    kind = OUTPUT


class _DeclaredField(FieldInfo):
    __slots__ = ("default", "ge", "kind", "le", "max_length", "min_length", "pattern")

    def __init__(
        self,
        kind: str,
        desc: str,
        default: Any,
        min_length: int | None,
        max_length: int | None,
        ge: float | None,
        le: float | None,
        pattern: str | None,
    ) -> None:
        self.kind = kind
        self.desc = desc
        self.default = default
        self.min_length = min_length
        self.max_length = max_length
        self.ge = ge
        self.le = le
        self.pattern = pattern


PLAIN_FIELD_TYPES: Final = frozenset({_PlainInput, _PlainOutput})
"""Types of declarations that need no check beyond their name and annotation."""
PLAIN_OUTPUT: Final = _PlainOutput
_new = object.__new__


def _check_desc(desc: Any) -> None:
    if not isinstance(desc, str):
        raise SignatureError(f"desc must be a str, got {type(desc).__name__}")


def InputField(
    desc: str = "",
    *,
    default: Any = MISSING,
    min_length: int | None = None,
    max_length: int | None = None,
    ge: float | None = None,
    le: float | None = None,
    pattern: str | None = None,
) -> Any:
    """Declare an input. With `default=` the input becomes optional.

    Typed `Any` so that `question: str = InputField(...)` type-checks."""
    if desc.__class__ is not str:
        _check_desc(desc)
    if (
        default is MISSING
        and min_length is None
        and max_length is None
        and ge is None
        and le is None
        and pattern is None
    ):
        info: FieldInfo = _new(_PlainInput)
        info.desc = desc
        return info
    return _DeclaredField(INPUT, desc, default, min_length, max_length, ge, le, pattern)


def OutputField(
    desc: str = "",
    *,
    min_length: int | None = None,
    max_length: int | None = None,
    ge: float | None = None,
    le: float | None = None,
    pattern: str | None = None,
) -> Any:
    """Declare an output. Make it optional with `Optional[T]` / `T | None`."""
    if desc.__class__ is not str:
        _check_desc(desc)
    if min_length is None and max_length is None and ge is None and le is None and pattern is None:
        info: FieldInfo = _new(_PlainOutput)
        info.desc = desc
        return info
    return _DeclaredField(OUTPUT, desc, MISSING, min_length, max_length, ge, le, pattern)


def name_problem(name: str) -> str | None:
    """Why `name` cannot be a field name, or None when it can."""
    if not name.isidentifier():
        return f"{name!r} is not a Python identifier"
    if keyword.iskeyword(name):
        return f"{name!r} is a Python keyword and cannot be a field name"
    if name.startswith("_"):
        return f"field name {name!r} must not start with '_' (reserved for internals)"
    if name in RESERVED_NAMES:
        return f"field name {name!r} is reserved (it is a Signature method)"
    return None


class FieldSpec:
    """One validated field of a signature. Immutable and comparable."""

    __slots__ = (
        "_regex",
        "default",
        "desc",
        "ge",
        "kind",
        "le",
        "max_length",
        "min_length",
        "name",
        "pattern",
        "required",
        "type",
    )

    name: str
    kind: str
    type: TypeSpec
    desc: str
    required: bool
    default: Any
    min_length: int | None
    max_length: int | None
    ge: float | None
    le: float | None
    pattern: str | None
    _regex: re.Pattern[str] | None

    def __init__(
        self,
        name: str,
        kind: str,
        type: TypeSpec,
        desc: str = "",
        *,
        default: Any = MISSING,
        min_length: int | None = None,
        max_length: int | None = None,
        ge: float | None = None,
        le: float | None = None,
        pattern: str | None = None,
    ) -> None:
        problem = name_problem(name)
        if problem:
            raise SignatureError(problem)
        if kind not in (INPUT, OUTPUT):
            raise SignatureError(f"field kind must be 'input' or 'output', got {kind!r}")
        if kind == OUTPUT and default is not MISSING:
            raise SignatureError(f"output field {name!r} cannot have a default")
        regex = _check_constraints(name, type, min_length, max_length, ge, le, pattern)
        setter = object.__setattr__
        setter(self, "name", name)
        setter(self, "kind", kind)
        setter(self, "type", type)
        setter(self, "desc", desc)
        setter(self, "default", default)
        setter(self, "required", not type.optional and default is MISSING)
        setter(self, "min_length", min_length)
        setter(self, "max_length", max_length)
        setter(self, "ge", ge)
        setter(self, "le", le)
        setter(self, "pattern", pattern)
        setter(self, "_regex", regex)

    def __setattr__(self, name: str, value: Any) -> None:
        raise AttributeError("FieldSpec is immutable")

    def __delattr__(self, name: str) -> None:
        raise AttributeError("FieldSpec is immutable")

    def _key(self) -> tuple[Any, ...]:
        default = self.default
        return (
            self.name,
            self.kind,
            self.type,
            self.desc,
            (type(default), repr(default)),
            self.min_length,
            self.max_length,
            self.ge,
            self.le,
            self.pattern,
        )

    def __eq__(self, other: object) -> bool:
        return isinstance(other, FieldSpec) and self._key() == other._key()

    def __hash__(self) -> int:
        return hash(self._key())

    def __repr__(self) -> str:
        extra = f", desc={self.desc!r}" if self.desc else ""
        if self.default is not MISSING:
            extra += f", default={self.default!r}"
        return f"FieldSpec({self.name!r}, {self.kind}, {self.type}{extra})"

    @property
    def annotation(self) -> Any:
        """The field's Python type (`list[str]`, `Optional[float]`, ...)."""
        return self.type.annotation

    def json_schema(self) -> dict[str, Any]:
        """The field's JSON Schema, with its constraints and description."""
        inner = self.type.inner.json_schema(DEFAULT_MAX_LENGTH)
        kind = self.type.inner.kind
        if kind == STR:
            if self.min_length is not None:
                inner["minLength"] = self.min_length
            if self.max_length is not None:
                inner["maxLength"] = self.max_length
            if self.pattern is not None:
                inner["pattern"] = self.pattern
        elif kind == LIST:
            if self.min_length is not None:
                inner["minItems"] = self.min_length
            if self.max_length is not None:
                inner["maxItems"] = self.max_length
        elif kind in (INT, FLOAT):
            if self.ge is not None:
                inner["minimum"] = self.ge
            if self.le is not None:
                inner["maximum"] = self.le
        schema: dict[str, Any] = (
            {"anyOf": [inner, {"type": "null"}]} if self.type.optional else inner
        )
        if self.desc:
            schema["description"] = self.desc
        if self.default is not MISSING:
            default = self.default
            schema["default"] = getattr(default, "value", default)  # Enum member -> value
        return schema

    def check_constraints(self, value: Any) -> str | None:
        """Why an already-coerced value breaks min/max/ge/le/pattern, or None."""
        if value is None:
            return None
        if self.min_length is not None and len(value) < self.min_length:
            unit = "characters" if isinstance(value, str) else "items"
            return f"must have at least {self.min_length} {unit} (got {len(value)})"
        if self.max_length is not None and len(value) > self.max_length:
            unit = "characters" if isinstance(value, str) else "items"
            return f"must have at most {self.max_length} {unit} (got {len(value)})"
        if self.ge is not None and value < self.ge:
            return f"must be >= {self.ge} (got {value})"
        if self.le is not None and value > self.le:
            return f"must be <= {self.le} (got {value})"
        if self._regex is not None and self._regex.search(value) is None:
            return f"must match pattern {self.pattern!r}"
        return None


def _check_constraints(
    name: str,
    spec: TypeSpec,
    min_length: int | None,
    max_length: int | None,
    ge: float | None,
    le: float | None,
    pattern: str | None,
) -> re.Pattern[str] | None:
    kind = spec.inner.kind
    for label, bound in (("min_length", min_length), ("max_length", max_length)):
        if bound is None:
            continue
        if kind not in (STR, LIST):
            raise SignatureError(f"field {name!r}: {label} applies to str and list fields only")
        if isinstance(bound, bool) or not isinstance(bound, int) or bound < 0:
            raise SignatureError(f"field {name!r}: {label} must be an int >= 0, got {bound!r}")
    if min_length is not None and max_length is not None and min_length > max_length:
        raise SignatureError(f"field {name!r}: min_length {min_length} > max_length {max_length}")
    for label, limit in (("ge", ge), ("le", le)):
        if limit is None:
            continue
        if kind not in (INT, FLOAT):
            raise SignatureError(f"field {name!r}: {label} applies to int and float fields only")
        if (
            isinstance(limit, bool)
            or not isinstance(limit, int | float)
            or not math.isfinite(limit)
        ):
            raise SignatureError(f"field {name!r}: {label} must be a finite number, got {limit!r}")
    if ge is not None and le is not None and ge > le:
        raise SignatureError(f"field {name!r}: ge {ge} > le {le}")
    if pattern is None:
        return None
    if kind != STR:
        raise SignatureError(f"field {name!r}: pattern applies to str fields only")
    if not isinstance(pattern, str):
        raise SignatureError(f"field {name!r}: pattern must be a str, got {pattern!r}")
    try:
        return re.compile(pattern)
    except re.error as exc:
        raise SignatureError(f"field {name!r}: invalid pattern {pattern!r}: {exc}") from None
