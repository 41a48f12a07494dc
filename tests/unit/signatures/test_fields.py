"""Field declarations and FieldSpec: what a declaration keeps, how it prints, when two specs
are equal, and the constraint messages at their boundaries."""

from __future__ import annotations

import pytest

from kaizen.errors import SignatureError
from kaizen.signatures import InputField, OutputField, Signature
from kaizen.signatures.fields import MISSING, FieldSpec
from kaizen.signatures.typespec import from_annotation

STR = from_annotation(str)
LIST = from_annotation(list[str])


def test_reprs_name_the_declaration_and_its_description() -> None:
    assert repr(MISSING) == "MISSING"
    assert repr(InputField(desc="q")) == "InputField(desc='q')"
    assert repr(OutputField(desc="a")) == "OutputField(desc='a')"
    assert repr(InputField("q", default="x")) == "InputField(desc='q')"
    assert repr(OutputField("a", max_length=3)) == "OutputField(desc='a')"


@pytest.mark.parametrize("declare", [InputField, OutputField])
def test_a_description_that_is_not_a_str_is_refused_naming_its_type(declare) -> None:
    with pytest.raises(SignatureError, match="desc must be a str, got int"):
        declare(desc=3)


def test_a_str_subclass_description_is_accepted() -> None:
    class Text(str):
        pass

    assert InputField(desc=Text("q")).desc == "q"


def test_a_constrained_input_keeps_every_part_of_its_declaration() -> None:
    class Q(Signature):
        question: str = InputField("the question", default="why", min_length=1, pattern="^w")
        answer: str = OutputField("short", max_length=9, pattern="[a-z]")

    q = Q.__kaizen_inputs__[0]
    assert (q.desc, q.default, q.min_length, q.max_length, q.pattern) == (
        "the question",
        "why",
        1,
        None,
        "^w",
    )
    a = Q.__kaizen_outputs__[0]
    assert (a.desc, a.default, a.max_length, a.pattern) == ("short", MISSING, 9, "[a-z]")


def test_specs_differing_only_in_their_default_are_not_equal() -> None:
    plain = FieldSpec("q", "input", STR)
    with_default = FieldSpec("q", "input", STR, default="x")
    assert plain != with_default
    assert FieldSpec("q", "input", STR, default="x") == with_default
    assert hash(FieldSpec("q", "input", STR, default="x")) == hash(with_default)
    assert FieldSpec("q", "input", STR, default=1) != FieldSpec("q", "input", STR, default="1")


@pytest.mark.parametrize(
    ("value", "problem"),
    [
        ("ab", None),  # exactly min_length
        ("a", "must have at least 2 characters (got 1)"),
        ("abcd", None),  # exactly max_length
        ("abcde", "must have at most 4 characters (got 5)"),
    ],
)
def test_length_bounds_are_inclusive_and_count_characters(value: str, problem: str | None) -> None:
    spec = FieldSpec("q", "input", STR, min_length=2, max_length=4)
    assert spec.check_constraints(value) == problem


@pytest.mark.parametrize(
    ("value", "problem"),
    [
        (["a"], None),
        ([], "must have at least 1 items (got 0)"),
        (["a", "b", "c"], "must have at most 2 items (got 3)"),
    ],
)
def test_list_bounds_count_items(value: list[str], problem: str | None) -> None:
    spec = FieldSpec("tags", "output", LIST, min_length=1, max_length=2)
    assert spec.check_constraints(value) == problem


def test_json_schema_carries_every_constraint_under_its_json_schema_name() -> None:
    text = FieldSpec("t", "output", STR, min_length=1, max_length=9, pattern="^a")
    assert text.json_schema() == {
        "type": "string",
        "maxLength": 9,
        "minLength": 1,
        "pattern": "^a",
    }
    items = FieldSpec("l", "output", LIST, min_length=1, max_length=2)
    assert items.json_schema() == {
        "type": "array",
        "items": {"type": "string", "maxLength": 500},
        "minItems": 1,
        "maxItems": 2,
    }
    for annotation, json_type in ((int, "integer"), (float, "number")):
        number = FieldSpec("n", "output", from_annotation(annotation), ge=0, le=5)
        assert number.json_schema() == {"type": json_type, "minimum": 0, "maximum": 5}
    bare = FieldSpec("b", "output", STR)
    assert bare.json_schema() == {"type": "string", "maxLength": 500}


def test_field_spec_names_the_field_in_its_errors() -> None:
    with pytest.raises(SignatureError, match=r"^'1x' is not a Python identifier$"):
        FieldSpec("1x", "input", STR)
    with pytest.raises(SignatureError, match=r"^field 'n': min_length applies to str and list"):
        FieldSpec("n", "input", from_annotation(int), min_length=1)


def test_unequal_specs_do_not_all_hash_alike() -> None:
    specs = {FieldSpec(f"f{i}", "input", STR) for i in range(20)}
    assert len({hash(s) for s in specs}) > 1
