"""Edges that module-level fixtures would hide from a mutation run (it imports the test
modules, and fills their caches, before it turns a mutant on): every signature, spec and
text here is made inside its test."""

from __future__ import annotations

import enum
from typing import Annotated, Any

import pytest

from kaizen.errors import SignatureError, SignatureValidationError
from kaizen.signatures import InputField, OutputField, Signature, compile_signature
from kaizen.signatures._frozen import FrozenDict, FrozenList, freeze
from kaizen.signatures.fields import FieldSpec
from kaizen.signatures.typespec import DICT, INT, STR, TypeSpec, dict_of, from_annotation, optional

from ._fresh import define, unique


class Level(enum.Enum):
    LOW = "low"
    HIGH = "high"


# -- compiled text, instructions and prompt ------------------------------------------------


def test_default_instructions_and_canonical_text_of_fresh_signatures() -> None:
    a, b, c, d = (unique(s) for s in "abcd")
    both = compile_signature(Signature.from_string(f"{a}, {b} -> {c}, {d}: int"))
    assert both.instructions == f"Given the fields {a}, {b}, produce the fields {c}, {d}."
    assert both.text == f"{a}: str, {b}: str -> {c}: str, {d}: int"
    only_out = compile_signature(Signature.from_string(f"-> {c}"))
    assert only_out.instructions == f"Produce the fields {c}."
    assert only_out.text == f"-> {c}: str"


def test_prompt_of_a_fresh_signature_exact_text() -> None:
    cls = define(
        {"topic": str, "summary": str, "level": Level},
        __doc__="  Summarise the topic.  ",
        topic=InputField(),
        summary=OutputField(desc="two lines"),
        level=OutputField(),
    )
    prompt = compile_signature(cls).render_prompt({"topic": "tides"})
    assert prompt == (
        "Summarise the topic.\n"
        "\n"
        "Topic: tides\n"
        "\n"
        "Respond with a JSON object with these fields:\n"
        "- summary (string): two lines\n"
        '- level (one of "low", "high")\n'
        "\n"
        "JSON:"
    )


def test_two_failing_constrained_inputs_are_both_reported() -> None:
    cls = define(
        {"a": str, "b": str, "out": str},
        a=InputField(max_length=1),
        b=InputField(max_length=1),
        out=OutputField(),
    )
    with pytest.raises(SignatureValidationError) as info:
        compile_signature(cls).validate_inputs({"a": "xx", "b": "yy"})
    assert info.value.fields == ("a", "b")


def test_float_inputs_are_strict_and_float_outputs_lenient() -> None:
    cls = define({"x": float, "y": float}, x=InputField(), y=OutputField())
    sig = compile_signature(cls)
    with pytest.raises(SignatureValidationError, match="x"):
        sig.validate_inputs({"x": "3.5"})
    assert sig.validate_inputs({"x": 3}) == {"x": 3.0}
    assert sig.parse_output({"y": "3.5"}) == {"y": 3.5}


@pytest.mark.parametrize(
    ("raw", "message"),
    [("   ", "the output is empty"), ("x", "no JSON object found (no '{' in the output)")],
)
def test_output_without_any_object(raw: str, message: str) -> None:
    cls = define({"y": int}, y=OutputField())
    with pytest.raises(SignatureValidationError) as info:
        compile_signature(cls).parse_output(raw)
    assert info.value.errors[0].message == message


# -- the grammar ------------------------------------------------------------------------


def test_any_unicode_space_separates_tokens_and_x_is_an_ordinary_letter() -> None:
    q, a = unique("Xq"), unique("aX")
    cls = Signature.from_string(f"{q}\u2003:\u00a0int ->\u2009{a}")
    compiled = compile_signature(cls)
    assert [(f.name, str(f.type)) for f in compiled.inputs + compiled.outputs] == [
        (q, "int"),
        (a, "str"),
    ]


# -- freezing ---------------------------------------------------------------------------


def test_freeze_makes_read_only_copies_all_the_way_down() -> None:
    value = {"a": [1, {"b": (2, 3)}], "t": ("x",), "n": 1}
    frozen = freeze(value)
    assert type(frozen) is FrozenDict and frozen == {"a": [1, {"b": [2, 3]}], "t": ["x"], "n": 1}
    assert type(frozen["a"]) is FrozenList and type(frozen["a"][1]) is FrozenDict
    assert type(frozen["a"][1]["b"]) is FrozenList and type(frozen["t"]) is FrozenList
    assert freeze(frozen) == frozen and freeze(5) == 5
    with pytest.raises(TypeError):
        frozen["a"][1]["b"].append(4)


# -- declarations, specs and their schemas ---------------------------------------------


def test_input_numeric_bounds_are_kept() -> None:
    cls = define({"n": int, "out": str}, n=InputField(ge=1, le=5), out=OutputField())
    (n,) = compile_signature(cls).inputs
    assert (n.ge, n.le) == (1, 5)


def test_specs_compare_defaults_by_type_and_value() -> None:
    class Text(str):
        pass

    spec = FieldSpec("q", "input", TypeSpec(STR), default="x")
    assert spec != FieldSpec("q", "input", TypeSpec(STR), default="y")
    assert spec != FieldSpec("q", "input", TypeSpec(STR), default=Text("x"))  # same repr


def test_an_enum_default_is_its_value_in_the_schema() -> None:
    from kaizen.signatures.typespec import enum_of

    spec = FieldSpec("level", "input", enum_of(Level), default=Level.HIGH)
    assert spec.json_schema()["default"] == "high"


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"min_length": True}, "min_length must be an int >= 0, got True"),
        ({"min_length": "3"}, "min_length must be an int >= 0, got '3'"),
        ({"max_length": -1}, "max_length must be an int >= 0, got -1"),
    ],
)
def test_bad_length_bounds(kwargs: dict[str, Any], message: str) -> None:
    with pytest.raises(SignatureError, match=message):
        FieldSpec("t", "input", TypeSpec(STR), **kwargs)


@pytest.mark.parametrize("limit", [True, "1", float("nan")])
def test_bad_numeric_limits(limit: Any) -> None:
    with pytest.raises(SignatureError, match="ge must be a finite number"):
        FieldSpec("n", "input", TypeSpec(INT), ge=limit)


def test_equal_bounds_and_zero_lengths_are_allowed() -> None:
    text = FieldSpec("t", "input", TypeSpec(STR), min_length=0, max_length=0)
    assert text.check_constraints("") is None
    assert FieldSpec("t", "input", TypeSpec(STR), min_length=2, max_length=2).min_length == 2
    assert FieldSpec("n", "input", TypeSpec(INT), ge=3, le=3).check_constraints(3) is None


# -- TypeSpec --------------------------------------------------------------------------


def test_optional_and_dict_schemas() -> None:
    assert optional(TypeSpec(STR)).json_schema(7) == {
        "anyOf": [{"type": "string", "maxLength": 7}, {"type": "null"}]
    }
    assert dict_of(TypeSpec(STR)).json_schema(9) == {
        "type": "object",
        "additionalProperties": {"type": "string", "maxLength": 9},
    }


def test_dict_descriptions() -> None:
    assert TypeSpec(DICT).describe() == "object"
    assert dict_of(TypeSpec(INT)).describe() == "object of integer"


def test_annotated_reads_as_its_type_and_a_bare_list_is_refused_exactly() -> None:
    assert from_annotation(Annotated[int, "meta"]) == TypeSpec(INT)
    with pytest.raises(SignatureError) as info:
        from_annotation(list)
    assert str(info.value) == "bare list needs an element type, e.g. list[str]"


def test_parsed_fields_carry_the_position_of_theirunique() -> None:
    from kaizen.signatures import grammar

    parsed = grammar.parse("alpha, beta: int -> gamma")
    assert [(f.name, f.pos) for f in parsed.inputs + parsed.outputs] == [
        ("alpha", 0),
        ("beta", 7),
        ("gamma", 20),
    ]
