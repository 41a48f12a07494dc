"""Edge cases of `TypeSpec`: the Python annotation of every kind, hashing, the prompt wording
of Literal/Enum members, the JSON Schema type of Enum values (floats, ints mixed with
floats), `dict_of()` without a value type, and the wording of unsupported-type errors."""

from __future__ import annotations

import enum
import typing
from collections.abc import Callable
from typing import Any, Literal

import pytest

from kaizen.errors import SignatureError
from kaizen.signatures import OutputField, Signature
from kaizen.signatures.typespec import (
    BOOL,
    DICT,
    DICT_T,
    FLOAT,
    INT,
    LIST,
    STR,
    TypeSpec,
    dict_of,
    enum_of,
    from_annotation,
    literal,
    optional,
)


class _Color(enum.Enum):
    RED = "red"
    BLUE = "blue"


# Each spec is built inside the test (a TypeSpec caches its annotation on first read).
@pytest.mark.parametrize(
    ("build", "expected"),
    [
        (lambda: TypeSpec(STR), str),
        (lambda: TypeSpec(INT), int),
        (lambda: TypeSpec(FLOAT), float),
        (lambda: TypeSpec(BOOL), bool),
        (lambda: TypeSpec(LIST, (TypeSpec(INT),)), list[int]),
        (lambda: TypeSpec(LIST, (TypeSpec(LIST, (TypeSpec(STR),)),)), list[list[str]]),
        (lambda: TypeSpec(DICT), dict),
        (lambda: TypeSpec(DICT, (TypeSpec(FLOAT),)), dict[str, float]),
        (lambda: literal(("a", 1, True)), Literal["a", 1, True]),
        (lambda: enum_of(_Color), _Color),
        (lambda: optional(TypeSpec(INT)), typing.Optional[int]),  # noqa: UP045
        (lambda: optional(TypeSpec(LIST, (TypeSpec(STR),))), list[str] | None),
    ],
)
def test_annotation_of_each_kind(build: Callable[[], TypeSpec], expected: Any) -> None:
    spec = build()
    assert spec.annotation == expected
    assert spec.annotation == expected  # the cached value is the same


def test_annotation_round_trips_through_from_annotation() -> None:
    spec = optional(TypeSpec(DICT, (TypeSpec(LIST, (literal((1, 2)),)),)))
    assert from_annotation(spec.annotation) == spec


def test_hash_follows_the_type() -> None:
    specs = [TypeSpec(STR), TypeSpec(INT), TypeSpec(FLOAT), TypeSpec(BOOL), TypeSpec(DICT)]
    assert len({hash(s) for s in specs}) == len(specs)
    assert hash(TypeSpec(LIST, (TypeSpec(INT),))) == hash(TypeSpec(LIST, (TypeSpec(INT),)))
    assert hash(literal((1,))) != hash(literal((True,)))
    assert {TypeSpec(INT): "i", TypeSpec(STR): "s"}[TypeSpec(STR)] == "s"


class _Ratio(enum.Enum):
    LOW = 0.5
    HIGH = 1.5


class _Mixed(enum.Enum):
    ONE = 1
    HALF = 2.5


class _Flags(enum.Enum):
    ON = True
    OFF = False


@pytest.mark.parametrize(
    ("build", "wording"),
    [
        (lambda: literal((True, False)), "one of true, false"),
        (lambda: literal((False,)), "one of false"),
        (lambda: literal((1, -2)), "one of 1, -2"),
        (lambda: literal(("a", 1, True)), 'one of "a", 1, true'),
        (lambda: enum_of(_Ratio), "one of 0.5, 1.5"),
        (lambda: enum_of(_Flags), "one of true, false"),
        (lambda: optional(literal((0, False))), "one of 0, false or null"),
    ],
)
def test_member_wording_uses_json_spelling(build: Callable[[], TypeSpec], wording: str) -> None:
    assert build().describe() == wording


def test_prompt_lists_bool_and_int_members_in_json_spelling() -> None:
    class Verdict(Signature):
        ok: Literal[True, False] = OutputField()
        level: Literal[1, 2] = OutputField()

    prompt = Verdict.compile().render_prompt({})
    assert "- ok (one of true, false)\n- level (one of 1, 2)\n" in prompt


@pytest.mark.parametrize(
    ("enum_cls", "schema"),
    [
        (_Ratio, {"type": "number", "enum": [0.5, 1.5]}),
        (_Mixed, {"type": "number", "enum": [1, 2.5]}),  # ints and floats are numbers
        (_Flags, {"type": "boolean", "enum": [True, False]}),
        (_Color, {"type": "string", "enum": ["red", "blue"]}),
    ],
)
def test_enum_schema_type_of_its_values(enum_cls: type[enum.Enum], schema: dict) -> None:
    assert enum_of(enum_cls).json_schema(100) == schema


def test_enum_schema_through_a_class_signature() -> None:
    class Measure(Signature):
        ratio: _Mixed = OutputField()

    assert Measure.compile().output_schema["properties"]["ratio"] == {
        "type": "number",
        "enum": [1, 2.5],
    }


def test_dict_of_without_a_value_type_is_the_plain_dict() -> None:
    spec = dict_of()
    assert spec == TypeSpec(DICT)
    assert spec is DICT_T
    assert str(spec) == "dict"
    assert spec.json_schema(10) == {"type": "object"}
    assert str(dict_of(TypeSpec(INT))) == "dict[str, int]"


@pytest.mark.parametrize(
    ("annotation", "message"),
    [
        (Literal[1.5], "Literal values must be str, int or bool, got 1.5 (float)"),
        (Literal[None], "Literal values must be str, int or bool, got None (NoneType)"),
        (int | str, "unsupported union int | str: only Optional[T] (T | None) is supported"),
        (
            typing.Union[int, str, None],  # noqa: UP007
            "unsupported union typing.Union[int, str, NoneType]: only Optional[T] "
            "(T | None) is supported",
        ),
        (
            set[int],
            "unsupported type set[int]; supported: str, int, float, bool, list[T], dict, "
            "dict[str, T], Literal[...], an Enum subclass, Optional[T] / T | None",
        ),
        (dict[list[int], str], "dict keys must be str (JSON object keys), got list[int]"),
        (dict[int, str], "dict keys must be str (JSON object keys), got int"),
    ],
)
def test_unsupported_annotation_message(annotation: Any, message: str) -> None:
    with pytest.raises(SignatureError) as info:
        bad = type("Bad", (Signature,), {"__annotations__": {"v": annotation}, "v": OutputField()})
        bad.compile()
    assert str(info.value) == f"Bad.v: {message}"
