"""The closed set of field types a signature supports, as one small immutable tree.

Both signature forms end here: class annotations (`list[str]`, `Literal[...]`, `T | None`,
Enum subclasses) go through `from_annotation`, the string grammar builds `TypeSpec`s
directly. Everything downstream (JSON Schema, prompt wording, coercion) switches on
`TypeSpec.kind`, so the two forms cannot drift apart.
"""

from __future__ import annotations

import types
import typing
from enum import Enum, EnumMeta
from typing import Any

from kaizen.errors import SignatureError

STR, INT, FLOAT, BOOL = "str", "int", "float", "bool"
LIST, DICT, LITERAL, ENUM, OPTIONAL = "list", "dict", "literal", "enum", "optional"

SCALARS = (STR, INT, FLOAT, BOOL)
SUPPORTED = (
    "str, int, float, bool, list[T], dict, dict[str, T], Literal[...], an Enum subclass, "
    "Optional[T] / T | None"
)
LITERAL_VALUE_TYPES = (str, int, bool)
ENUM_VALUE_TYPES = (str, int, float, bool)


class TypeSpec:
    """One node of a field type: `kind` plus `args` (element/value/inner types),
    `values` (Literal/Enum members' values) and `enum` (the Enum class)."""

    __slots__ = ("_annotation", "_key", "args", "enum", "kind", "values")

    kind: str
    args: tuple[TypeSpec, ...]
    values: tuple[Any, ...]
    enum: type[Enum] | None
    _key: tuple[Any, ...]
    _annotation: Any

    def __init__(
        self,
        kind: str,
        args: tuple[TypeSpec, ...] = (),
        values: tuple[Any, ...] = (),
        enum_cls: type[Enum] | None = None,
    ) -> None:
        setter = object.__setattr__
        setter(self, "kind", kind)
        setter(self, "args", args)
        setter(self, "values", values)
        setter(self, "enum", enum_cls)
        # bool is an int subclass: Literal[1] and Literal[True] must not compare equal.
        tagged = tuple((type(v) is bool, v) for v in values)
        setter(self, "_key", (kind, args, tagged, enum_cls))
        setter(self, "_annotation", None)

    def __setattr__(self, name: str, value: Any) -> None:
        raise AttributeError("TypeSpec is immutable")

    def __delattr__(self, name: str) -> None:
        raise AttributeError("TypeSpec is immutable")

    def __eq__(self, other: object) -> bool:
        return isinstance(other, TypeSpec) and self._key == other._key

    def __hash__(self) -> int:
        return hash(self._key)

    def __repr__(self) -> str:
        return f"TypeSpec({self})"

    def __str__(self) -> str:
        """The grammar spelling (`list[str]`, `float?`); an Enum shows its class name."""
        kind = self.kind
        if kind in SCALARS:
            return kind
        if kind == LIST:
            return f"list[{self.args[0]}]"
        if kind == DICT:
            return f"dict[str, {self.args[0]}]" if self.args else "dict"
        if kind == LITERAL:
            return f"Literal[{', '.join(map(repr, self.values))}]"
        if kind == ENUM:
            assert self.enum is not None
            return self.enum.__name__
        return f"{self.args[0]}?"

    @property
    def optional(self) -> bool:
        return self.kind == OPTIONAL

    @property
    def inner(self) -> TypeSpec:
        """The type without its Optional wrapper."""
        return self.args[0] if self.kind == OPTIONAL else self

    @property
    def annotation(self) -> Any:
        """The equivalent Python annotation (`list[str]`, `Optional[float]`, ...)."""
        cached = self._annotation
        if cached is None:
            cached = self._build_annotation()
            object.__setattr__(self, "_annotation", cached)
        return cached

    def _build_annotation(self) -> Any:
        kind = self.kind
        if kind in SCALARS:
            return _SCALAR_TYPES[kind]
        if kind == LIST:
            return list[self.args[0].annotation]  # type: ignore[misc]
        if kind == DICT:
            return dict[str, self.args[0].annotation] if self.args else dict  # type: ignore[misc]
        if kind == LITERAL:
            return typing.Literal.__getitem__(self.values)
        if kind == ENUM:
            return self.enum
        return typing.Optional[self.args[0].annotation]  # noqa: UP045

    def json_schema(self, default_max_length: int) -> dict[str, Any]:
        """This type as JSON Schema; every string gets a `maxLength` so constrained decoding
        cannot run away."""
        kind = self.kind
        if kind == STR:
            return {"type": "string", "maxLength": default_max_length}
        if kind == INT:
            return {"type": "integer"}
        if kind == FLOAT:
            return {"type": "number"}
        if kind == BOOL:
            return {"type": "boolean"}
        if kind == LIST:
            return {"type": "array", "items": self.args[0].json_schema(default_max_length)}
        if kind == DICT:
            if not self.args:
                return {"type": "object"}
            value = self.args[0].json_schema(default_max_length)
            return {"type": "object", "additionalProperties": value}
        if kind in (LITERAL, ENUM):
            schema: dict[str, Any] = {}
            json_type = _json_type_of(self.values)
            if json_type is not None:
                schema["type"] = json_type
            schema["enum"] = list(self.values)
            return schema
        return {"anyOf": [self.args[0].json_schema(default_max_length), {"type": "null"}]}

    def describe(self) -> str:
        """Plain-English wording for the prompt (`list of string`, `one of "a", "b"`)."""
        kind = self.kind
        if kind in SCALARS:
            return _SCALAR_WORDS[kind]
        if kind == LIST:
            return f"list of {self.args[0].describe()}"
        if kind == DICT:
            return f"object of {self.args[0].describe()}" if self.args else "object"
        if kind in (LITERAL, ENUM):
            return "one of " + ", ".join(map(_json_scalar, self.values))
        return f"{self.args[0].describe()} or null"


def _json_scalar(value: Any) -> str:
    """json.dumps for the scalar values a Literal/Enum may hold, without its call overhead."""
    if isinstance(value, str):
        from json.encoder import encode_basestring  # lazy: json is not needed at import

        return encode_basestring(value)
    if isinstance(value, bool):
        return "true" if value else "false"
    return repr(value)


_SCALAR_TYPES: dict[str, type] = {STR: str, INT: int, FLOAT: float, BOOL: bool}
_SCALAR_WORDS = {STR: "string", INT: "integer", FLOAT: "number", BOOL: "true or false"}
_BY_PYTHON_TYPE = {str: STR, int: INT, float: FLOAT, bool: BOOL}

STR_T = TypeSpec(STR)
INT_T = TypeSpec(INT)
FLOAT_T = TypeSpec(FLOAT)
BOOL_T = TypeSpec(BOOL)
DICT_T = TypeSpec(DICT)
SCALAR_SPECS = {STR: STR_T, INT: INT_T, FLOAT: FLOAT_T, BOOL: BOOL_T}


def list_of(item: TypeSpec) -> TypeSpec:
    return TypeSpec(LIST, (item,))


def dict_of(value: TypeSpec | None = None) -> TypeSpec:
    return DICT_T if value is None else TypeSpec(DICT, (value,))


def optional(inner: TypeSpec) -> TypeSpec:
    """`Optional[T]`; idempotent like `typing.Optional`."""
    return inner if inner.kind == OPTIONAL else TypeSpec(OPTIONAL, (inner,))


def literal(values: tuple[Any, ...]) -> TypeSpec:
    """`Literal[...]`; duplicates collapse (as in typing), order is kept."""
    seen: set[tuple[bool, Any]] = set()
    unique = []
    for value in values:
        if not isinstance(value, LITERAL_VALUE_TYPES):
            raise SignatureError(
                f"Literal values must be str, int or bool, got {value!r} ({type(value).__name__})"
            )
        key = (type(value) is bool, value)
        if key not in seen:
            seen.add(key)
            unique.append(value)
    if not unique:
        raise SignatureError("Literal needs at least one value")
    return TypeSpec(LITERAL, values=tuple(unique))


def enum_of(enum_cls: type[Enum]) -> TypeSpec:
    members = list(enum_cls)
    if not members:
        raise SignatureError(f"Enum {enum_cls.__name__} has no members")
    for member in members:
        if not isinstance(member.value, ENUM_VALUE_TYPES):
            raise SignatureError(
                f"Enum {enum_cls.__name__}.{member.name} has value {member.value!r}; "
                "a model can only produce str, int, float or bool values"
            )
    return TypeSpec(ENUM, values=tuple(m.value for m in members), enum_cls=enum_cls)


def _json_type_of(values: tuple[Any, ...]) -> str | None:
    kinds = {
        "boolean"
        if isinstance(v, bool)
        else "integer"
        if isinstance(v, int)
        else "number"
        if isinstance(v, float)
        else "string"
        for v in values
    }
    if kinds == {"integer", "number"}:
        return "number"
    return kinds.pop() if len(kinds) == 1 else None


def _name_of(annotation: Any) -> str:
    if isinstance(annotation, type) and not isinstance(annotation, types.GenericAlias):
        return annotation.__name__
    return repr(annotation)


def from_annotation(annotation: Any) -> TypeSpec:
    """The TypeSpec of a Python annotation; SignatureError (without the field name, which
    the caller adds) for anything outside the supported set."""
    kind = _BY_PYTHON_TYPE.get(annotation) if isinstance(annotation, type) else None
    if kind is not None:
        return SCALAR_SPECS[kind]
    if annotation is dict:
        return DICT_T
    if annotation is list:
        raise SignatureError("bare list needs an element type, e.g. list[str]")
    origin = getattr(annotation, "__origin__", None)
    args: tuple[Any, ...] = getattr(annotation, "__args__", None) or ()
    if hasattr(annotation, "__metadata__"):  # Annotated[T, ...] is T
        return from_annotation(origin)
    if isinstance(annotation, types.UnionType) or origin is typing.Union:
        others = [a for a in args if a is not type(None)]
        if len(others) != 1 or len(others) == len(args):
            raise SignatureError(
                f"unsupported union {_name_of(annotation)}: only Optional[T] (T | None) is "
                "supported"
            )
        return optional(from_annotation(others[0]))
    if origin is list:
        if len(args) != 1:
            raise SignatureError("bare list needs an element type, e.g. list[str]")
        return list_of(from_annotation(args[0]))
    if origin is dict:
        if not args:
            return DICT_T
        if args[0] is not str:
            raise SignatureError(
                f"dict keys must be str (JSON object keys), got {_name_of(args[0])}"
            )
        return dict_of(from_annotation(args[1]))
    if origin is typing.Literal:
        return literal(args)
    if isinstance(annotation, EnumMeta):
        return enum_of(typing.cast(type[Enum], annotation))
    raise SignatureError(f"unsupported type {_name_of(annotation)}; supported: {SUPPORTED}")
