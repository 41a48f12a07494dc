"""Validating caller inputs (strict) and coercing model outputs (lenient), field by field."""

import enum
from typing import Any, Literal

import pytest

from kaizen.errors import SignatureValidationError
from kaizen.signatures import InputField, OutputField, Signature, compile_signature


class Mood(enum.Enum):
    HAPPY = "happy"
    SAD = "sad"


class Level(enum.Enum):
    LOW = 1
    HIGH = 2


def _out(annotation: object, **options: Any) -> Any:
    sig = type(
        "Out",
        (Signature,),
        {"__annotations__": {"v": annotation}, "v": OutputField(**options)},
    )
    return sig.compile()


def _parse(annotation: object, value: Any, **options: Any) -> Any:
    return _out(annotation, **options).parse_output({"v": value})["v"]


def _rejects(annotation: object, value: Any, **options: Any) -> SignatureValidationError:
    with pytest.raises(SignatureValidationError) as info:
        _out(annotation, **options).parse_output({"v": value})
    return info.value


# -- outputs: coercions --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("annotation", "value", "expected"),
    [
        (int, 42, 42),
        (int, "42", 42),
        (int, " -7 ", -7),
        (int, 42.0, 42),
        (int, "42.0", 42),
        (int, "1e3", 1000),
        (float, 1, 1.0),
        (float, 0.25, 0.25),
        (float, "0.5", 0.5),
        (float, " 3 ", 3.0),
        (bool, True, True),
        (bool, False, False),
        (bool, "true", True),
        (bool, "False", False),
        (bool, " yes ", True),
        (bool, "NO", False),
        (str, "text", "text"),
        (str, 42, "42"),
        (str, 0.5, "0.5"),
        (list[int], ["1", 2, 3.0], [1, 2, 3]),
        (list[str], [], []),
        (dict, {"a": [1]}, {"a": [1]}),
        (dict[str, float], {"a": "1.5", "b": 2}, {"a": 1.5, "b": 2.0}),
        (Literal["pos", "neg"], "pos", "pos"),
        (Literal["pos", "neg"], " neg ", "neg"),
        (Literal["pos", "neg"], "POS", "pos"),
        (Literal[1, 2], 2, 2),
        (Literal[1, 2], "2", 2),
        (Mood, "happy", Mood.HAPPY),
        (Mood, "SAD", Mood.SAD),
        (Mood, "HAPPY", Mood.HAPPY),
        (Level, 2, Level.HIGH),
        (Level, "HIGH", Level.HIGH),
        (Level, "1", Level.LOW),
        (int | None, None, None),
        (int | None, "5", 5),
        (list[int | None], [None, "1"], [None, 1]),
    ],
)
def test_output_coercions(annotation: object, value: Any, expected: Any) -> None:
    result = _parse(annotation, value)
    assert result == expected
    assert type(result) is type(expected)


@pytest.mark.parametrize(
    ("annotation", "value", "message"),
    [
        (int, 42.5, "expected an integer, got 42.5"),
        (int, "42.5", "expected an integer, got '42.5'"),
        (int, "forty", "expected an integer, got 'forty'"),
        (int, True, "expected an integer, got True"),
        (int, None, "expected an integer, got None"),
        (int, "nan", "expected an integer, got 'nan'"),
        (float, "abc", "expected a number, got 'abc'"),
        (float, False, "expected a number, got False"),
        (float, "inf", "expected a finite number, got 'inf'"),
        (float, [1], "expected a number, got a list"),
        (bool, "maybe", "expected true or false, got 'maybe'"),
        (bool, 1, "expected true or false, got 1"),
        (str, True, "expected a string, got True"),
        (str, ["a"], "expected a string, got a list"),
        (str, {"a": 1}, "expected a string, got an object"),
        (list[str], "a, b", "expected a list, got 'a, b'"),
        (dict, [1], "expected an object, got a list"),
        (Literal["pos", "neg"], "neutral", "expected one of 'pos', 'neg', got 'neutral'"),
        (Literal[1, 2], True, "expected one of 1, 2, got True"),
        (Mood, "angry", "expected one of 'happy', 'sad', got 'angry'"),
    ],
)
def test_output_rejections(annotation: object, value: Any, message: str) -> None:
    error = _rejects(annotation, value)
    assert [(e.field, e.message) for e in error.errors] == [("v", message)]
    assert error.errors[0].value == value


def test_lenient_literal_match_prefers_exact_and_refuses_ambiguity() -> None:
    assert _parse(Literal["ab", "AB"], " AB ") == "AB"  # stripped exact match wins
    error = _rejects(Literal["ab", "AB"], "Ab")  # case-insensitive: two candidates
    assert error.fields == ("v",)


def test_list_and_dict_errors_name_each_element() -> None:
    error = _rejects(list[int], ["1", "x", 2.5, None])
    assert [(e.field, e.value) for e in error.errors] == [
        ("v[1]", "x"),
        ("v[2]", 2.5),
        ("v[3]", None),
    ]
    error = _rejects(dict[str, bool], {"ok": "yes", "bad": "perhaps"})
    assert [e.field for e in error.errors] == ["v['bad']"]


def test_nested_optional_elements_accept_null() -> None:
    assert _parse(dict[str, int | None], {"a": None, "b": "2"}) == {"a": None, "b": 2}


@pytest.mark.parametrize(
    ("annotation", "options", "value", "message"),
    [
        (str, {"max_length": 3}, "abcd", "must have at most 3 characters (got 4)"),
        (str, {"min_length": 2}, "a", "must have at least 2 characters (got 1)"),
        (list[int], {"max_length": 1}, [1, 2], "must have at most 1 items (got 2)"),
        (int, {"ge": 1}, 0, "must be >= 1 (got 0)"),
        (float, {"le": 1.0}, "1.5", "must be <= 1.0 (got 1.5)"),
        (str, {"pattern": r"^\d+$"}, "12a", "must match pattern"),
    ],
)
def test_output_constraints(
    annotation: object, options: dict[str, Any], value: Any, message: str
) -> None:
    error = _rejects(annotation, value, **options)
    assert error.errors[0].message.startswith(message)


def test_constraints_pass_at_the_bounds() -> None:
    assert _parse(str, "abc", max_length=3, pattern="^a") == "abc"
    assert _parse(int, "5", ge=1, le=5) == 5
    assert _parse(float | None, None, ge=0.0) is None


def test_default_max_length_bounds_decoding_only() -> None:
    # The schema's default maxLength (500) limits constrained decoding; a longer value given
    # directly is not an error unless the field sets max_length itself.
    assert _parse(str, "x" * 600) == "x" * 600


# -- outputs: the object as a whole --------------------------------------------------------


class Triage(Signature):
    """Triage the ticket."""

    ticket: str = InputField()
    label: Literal["bug", "question"] = OutputField()
    priority: int = OutputField()
    note: str | None = OutputField()


def test_output_collects_every_field_error_and_keeps_raw() -> None:
    raw = '{"label": "feature", "priority": "high"}'
    with pytest.raises(SignatureValidationError) as info:
        Triage.compile().parse_output(raw)
    error = info.value
    assert error.fields == ("label", "priority")
    assert error.raw == raw
    assert error.signature == "Triage"
    assert "label: expected one of 'bug', 'question', got 'feature'" in str(error)


def test_missing_required_output_is_an_error_and_missing_optional_is_none() -> None:
    compiled = Triage.compile()
    with pytest.raises(SignatureValidationError) as info:
        compiled.parse_output({"label": "bug"})
    assert [(e.field, e.message) for e in info.value.errors] == [
        ("priority", "required output is missing")
    ]
    assert compiled.parse_output({"label": "bug", "priority": 1}) == {
        "label": "bug",
        "priority": 1,
        "note": None,
    }


def test_unknown_output_keys_are_dropped_and_result_is_a_fresh_dict() -> None:
    compiled = Triage.compile()
    raw = {"priority": "2", "label": "question", "note": "n", "confidence": 0.9}
    result = compiled.parse_output(raw)
    assert list(result) == ["label", "priority", "note"]  # declaration order
    result["extra"] = 1  # callers may add to it
    assert "extra" not in compiled.parse_output(raw)


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        ("", "the output is empty"),
        ("I cannot answer that.", "no JSON object found (no '{' in the output)"),
        ('{"label": "bug", "priority": 1', "is never closed"),
        ("{label: bug}", "invalid JSON at position 0"),
        ("[1, 2]", "no JSON object found"),
    ],
)
def test_text_without_a_json_object_is_an_output_error(raw: str, message: str) -> None:
    with pytest.raises(SignatureValidationError) as info:
        Triage.compile().parse_output(raw)
    (error,) = info.value.errors
    assert error.field == "<output>"
    assert message in error.message
    assert info.value.raw == raw


def test_output_of_the_wrong_kind_is_rejected() -> None:
    with pytest.raises(
        SignatureValidationError, match="expected model text or a mapping, got list"
    ):
        Triage.compile().parse_output([1, 2])  # type: ignore[arg-type]


# -- inputs (strict) -----------------------------------------------------------------------


class Ask(Signature):
    question: str = InputField()
    k: int = InputField(default=3, ge=1)
    weight: float = InputField(default=1.0)
    mood: Mood = InputField(default=Mood.HAPPY)
    tags: list[str] = InputField(default=[])
    hint: str | None = InputField()
    answer: str = OutputField()


def test_inputs_fill_defaults_in_declaration_order() -> None:
    values = Ask.compile().validate_inputs({"question": "q"})
    assert values == {
        "question": "q",
        "k": 3,
        "weight": 1.0,
        "mood": Mood.HAPPY,
        "tags": [],
        "hint": None,
    }
    assert list(values) == ["question", "k", "weight", "mood", "tags", "hint"]


def test_mutable_defaults_are_not_shared_between_calls() -> None:
    compiled = Ask.compile()
    first = compiled.validate_inputs({"question": "q"})
    first["tags"].append("x")
    assert compiled.validate_inputs({"question": "q"})["tags"] == []


@pytest.mark.parametrize(
    ("given", "field", "expected"),
    [
        ({"weight": 2}, "weight", 2.0),  # int -> float is lossless
        ({"mood": "sad"}, "mood", Mood.SAD),  # Enum value -> member
        ({"mood": Mood.SAD}, "mood", Mood.SAD),
        ({"tags": ("a", "b")}, "tags", ["a", "b"]),  # tuple -> list
        ({"hint": None}, "hint", None),
    ],
)
def test_strict_input_conversions(given: dict[str, Any], field: str, expected: Any) -> None:
    values = Ask.compile().validate_inputs({"question": "q", **given})
    assert values[field] == expected
    assert type(values[field]) is type(expected)


def test_inputs_report_missing_wrong_type_and_unknown_together() -> None:
    with pytest.raises(SignatureValidationError) as info:
        Ask.compile().validate_inputs(
            {"k": "3", "weight": True, "mood": "SAD", "tags": ["a", 1], "topic": "x"}
        )
    errors = {e.field: e.message for e in info.value.errors}
    assert errors == {
        "question": "required input is missing",
        "k": "expected an integer, got '3'",  # strict: no string parsing for inputs
        "weight": "expected a number, got True",
        "mood": "expected one of 'happy', 'sad', got 'SAD'",
        "tags[1]": "expected a string, got 1",
        "topic": "unknown input; expected: question, k, weight, mood, tags, hint",
    }


def test_input_constraints_apply() -> None:
    with pytest.raises(SignatureValidationError) as info:
        Ask.compile().validate_inputs({"question": "q", "k": 0})
    assert [(e.field, e.message) for e in info.value.errors] == [("k", "must be >= 1 (got 0)")]


def test_inputs_must_be_a_mapping() -> None:
    with pytest.raises(SignatureValidationError) as info:
        Ask.compile().validate_inputs(["q"])  # type: ignore[arg-type]
    assert info.value.fields == ("<inputs>",)


def test_validated_inputs_validate_again_unchanged() -> None:
    compiled = Ask.compile()
    once = compiled.validate_inputs({"question": "q", "mood": "sad", "tags": ("a",)})
    assert compiled.validate_inputs(once) == once


def test_unknown_input_on_a_signature_without_inputs() -> None:
    with pytest.raises(SignatureValidationError, match="unknown input; expected: none"):
        compile_signature("-> joke").validate_inputs({"topic": "cats"})
