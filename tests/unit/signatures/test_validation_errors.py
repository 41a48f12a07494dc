"""What a SignatureValidationError carries: the signature's name, every failing field with
the value that failed, and the raw input or model output; plus default instructions and the
prompt's rendering of non-string values. Signatures are made inside each test."""

from __future__ import annotations

import enum
from typing import Any

import pytest

from kaizen.errors import FieldError, SignatureValidationError
from kaizen.signatures import InputField, OutputField, Signature, compile_signature
from kaizen.signatures.compiler import CompiledSignature


class Tone(enum.Enum):
    CALM = "calm"


def _compiled() -> CompiledSignature:
    class Checked(Signature):
        """Check it."""

        text: str = InputField(max_length=3)
        count: int = InputField(default=1)
        label: str = OutputField(min_length=2)
        score: int = OutputField(ge=0)

    return compile_signature(Checked)


def _failure(call: Any, arg: Any) -> SignatureValidationError:
    with pytest.raises(SignatureValidationError) as info:
        call(arg)
    return info.value


def test_inputs_that_are_not_a_mapping() -> None:
    sig = _compiled()
    error = _failure(sig.validate_inputs, ["text"])
    assert (error.signature, error.raw) == ("Checked", ["text"])
    assert error.errors == (
        FieldError("<inputs>", "expected a mapping of input names to values, got list", ["text"]),
    )


def test_every_input_failure_is_listed_with_its_value() -> None:
    sig = _compiled()
    raw = {"text": "long", "extra": 5, "other": "x"}
    error = _failure(sig.validate_inputs, raw)
    assert error.signature == "Checked" and error.raw is raw
    assert error.errors == (
        FieldError("text", "must have at most 3 characters (got 4)", "long"),
        FieldError("extra", "unknown input; expected: text, count", 5),
        FieldError("other", "unknown input; expected: text, count", "x"),
    )


def test_model_text_without_json_and_a_wrong_raw_type() -> None:
    sig = _compiled()
    error = _failure(sig.parse_output, "no braces here")
    assert (error.signature, error.raw) == ("Checked", "no braces here")
    assert [(e.field, e.value) for e in error.errors] == [("<output>", "no braces here")]
    error = _failure(sig.parse_output, 42)
    assert (error.signature, error.raw) == ("Checked", 42)
    assert error.errors == (
        FieldError("<output>", "expected model text or a mapping, got int", 42),
    )


def test_every_output_failure_is_listed_in_declaration_order() -> None:
    sig = _compiled()
    raw = '{"label": "x", "score": -1}'
    error = _failure(sig.parse_output, raw)
    assert error.signature == "Checked" and error.raw == raw
    assert error.errors == (
        FieldError("label", "must have at least 2 characters (got 1)", "x"),
        FieldError("score", "must be >= 0 (got -1)", -1),
    )
    error = _failure(sig.parse_output, {"other": 1})
    assert error.fields == ("label", "score")  # a missing one does not stop the check


def test_default_instructions_list_every_field() -> None:
    cls = Signature.from_string("first_in, second_in -> first_out, second_out")
    assert compile_signature(cls).instructions == (
        "Given the fields first_in, second_in, produce the fields first_out, second_out."
    )


def test_prompt_values_keep_non_ascii_text_and_render_enum_members() -> None:
    class Render(Signature):
        items: list[str] = InputField()
        answer: str = OutputField()

    sig = compile_signature(Render)
    prompt = sig.render_prompt({"items": ["café", Tone.CALM]}, validate=False)
    assert 'Items: ["café", "calm"]' in prompt
