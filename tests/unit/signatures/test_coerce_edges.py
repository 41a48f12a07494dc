"""Edge cases of value checking: the `got ...` wording of errors (shortened values, type
names), strict checking inside dict inputs, the INVALID result of a failed dict, the index
the lenient Literal/Enum matcher reports, and the read-only cached schemas (their error
message and their mutable deep copies)."""

from __future__ import annotations

import copy
import enum
from typing import Any

import pytest

from kaizen.errors import FieldError, SignatureValidationError
from kaizen.signatures import compile_signature
from kaizen.signatures._coerce import INVALID, _lenient_member_index, coerce
from kaizen.signatures.typespec import DICT, INT, TypeSpec, enum_of, literal


def _output_errors(value: Any) -> list[tuple[str, str]]:
    with pytest.raises(SignatureValidationError) as info:
        compile_signature("edge_q -> n: int").parse_output({"n": value})
    return [(e.field, e.message) for e in info.value.errors]


def _input_errors(text: str, inputs: dict[str, Any]) -> list[FieldError]:
    with pytest.raises(SignatureValidationError) as info:
        compile_signature(text).validate_inputs(inputs)
    return list(info.value.errors)


# -- the `got ...` wording ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "shown"),
    [
        ("x" * 58, "'" + "x" * 58 + "'"),  # repr of 60 characters: shown whole
        ("x" * 59, "'" + "x" * 56 + "..."),  # 61 characters: cut to 57 plus "..."
        ("y" * 200, "'" + "y" * 56 + "..."),
        ("short", "'short'"),
    ],
)
def test_long_values_are_shortened_in_the_message(value: str, shown: str) -> None:
    assert _output_errors(value) == [("n", f"expected an integer, got {shown}")]


@pytest.mark.parametrize(
    ("value", "shown"),
    [
        ({1, 2}, "set"),
        (b"42", "bytes"),
        (frozenset(), "frozenset"),
        ([1], "a list"),
        ((1,), "a list"),
        ({"a": 1}, "an object"),
        (None, "None"),
    ],
)
def test_non_scalar_values_are_named_by_their_kind(value: Any, shown: str) -> None:
    errors = _input_errors("n: int -> edge_out", {"n": value})
    assert [(e.field, e.message) for e in errors] == [("n", f"expected an integer, got {shown}")]


# -- dicts -------------------------------------------------------------------------------


def test_dict_input_values_are_checked_strictly() -> None:
    errors = _input_errors("scores: dict[str, int] -> edge_out", {"scores": {"a": "3", "b": 4}})
    assert errors == [FieldError("scores['a']", "expected an integer, got '3'", "3")]


def test_dict_output_values_are_coerced_leniently() -> None:
    compiled = compile_signature("edge_q -> scores: dict[str, int]")
    assert compiled.parse_output({"scores": {"a": "3", "b": 4}}) == {"scores": {"a": 3, "b": 4}}


@pytest.mark.parametrize("strict", [True, False])
def test_bare_dict_with_a_non_string_key_is_invalid(strict: bool) -> None:
    errors: list[FieldError] = []
    assert coerce(TypeSpec(DICT), {1: "a", "b": 2}, "v", errors, strict) is INVALID
    assert errors == [FieldError("v[1]", "object keys must be strings", 1)]


@pytest.mark.parametrize("strict", [True, False])
def test_typed_dict_with_a_non_string_key_is_invalid(strict: bool) -> None:
    errors: list[FieldError] = []
    spec = TypeSpec(DICT, (TypeSpec(INT),))
    assert coerce(spec, {1: 2, "b": 3}, "v", errors, strict) is INVALID
    assert errors == [FieldError("v[1]", "object keys must be strings", 1)]


def test_dict_with_string_keys_is_a_new_dict() -> None:
    errors: list[FieldError] = []
    value = {"a": [1], "b": None}
    result = coerce(TypeSpec(DICT), value, "v", errors, True)
    assert (result, errors) == ({"a": [1], "b": None}, [])
    assert result is not value


# -- lenient Literal/Enum matching -------------------------------------------------------


def _members() -> dict[str, TypeSpec]:
    class Mood(enum.Enum):
        POS = "good"
        NEG = "bad"

    return {
        "pos_neg": literal(("pos", "neg")),
        "cased": literal(("pos", "POS")),
        "one_and_text_one": literal((1, "1")),
        "mood": enum_of(Mood),
    }


@pytest.mark.parametrize(
    ("spec", "value", "index"),
    [
        ("pos_neg", " neg ", 1),
        ("pos_neg", "POS", 0),
        ("mood", "NEG", 1),
        ("mood", "Good", 0),
        ("cased", "Pos", -1),  # ambiguous case-insensitively
        ("one_and_text_one", " 1 ", -1),  # ambiguous exactly
        ("pos_neg", "maybe", -1),  # no match at all
        ("pos_neg", 3, -1),  # not text
        ("mood", None, -1),
    ],
)
def test_lenient_member_index_finds_the_single_match_or_none(
    spec: str, value: Any, index: int
) -> None:
    found = _lenient_member_index(_members()[spec], value)
    assert found == index if index >= 0 else found < 0  # callers read only `>= 0`


def test_ambiguous_member_text_is_reported_with_the_members() -> None:
    compiled = compile_signature("edge_q -> label: Literal['pos', 'POS']")
    with pytest.raises(SignatureValidationError) as info:
        compiled.parse_output({"label": "Pos"})
    assert [str(e) for e in info.value.errors] == ["label: expected one of 'pos', 'POS', got 'Pos'"]


# -- read-only schemas -------------------------------------------------------------------

_READ_ONLY = (
    "{} is read-only (it is shared by a cached compiled signature); "
    "use copy.deepcopy() for a mutable copy"
)


def test_schema_mutation_names_the_read_only_type() -> None:
    schema = compile_signature("edge_q -> first, second").output_schema
    with pytest.raises(TypeError) as info:
        schema["title"] = "x"
    assert str(info.value) == _READ_ONLY.format("FrozenDict")
    with pytest.raises(TypeError) as info:
        schema["required"].append("x")
    assert str(info.value) == _READ_ONLY.format("FrozenList")


def test_deep_copy_of_a_schema_keeps_list_items() -> None:
    schema = compile_signature("edge_q -> first, second: list[int]").output_schema
    deep = copy.deepcopy(schema)
    assert deep == {
        "type": "object",
        "properties": {
            "first": {"type": "string", "maxLength": schema["properties"]["first"]["maxLength"]},
            "second": {"type": "array", "items": {"type": "integer"}},
        },
        "required": ["first", "second"],
        "additionalProperties": False,
    }
    assert type(deep["required"]) is list
    assert deep["required"] == ["first", "second"]
