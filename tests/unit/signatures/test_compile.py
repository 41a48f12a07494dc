"""Compilation: JSON Schemas, caching, immutability, class/string equivalence, the prompt."""

import copy
import enum
import json
import pickle
from typing import Literal

import pytest

from kaizen.errors import SignatureError, SignatureValidationError
from kaizen.signatures import (
    DEFAULT_MAX_LENGTH,
    CompiledSignature,
    InputField,
    OutputField,
    Signature,
    compile_signature,
)


class Mood(enum.Enum):
    HAPPY = "happy"
    SAD = "sad"


def make_qa() -> type[Signature]:
    """A new class per call: a mutation run imports test modules before it turns a mutant
    on, so a module-level class (and what it caches on first use) would hide the mutant."""

    class QA(Signature):
        """Answer the question from the context."""

        question: str = InputField(desc="the question")
        context: str = InputField(desc="background")
        answer: str = OutputField(desc="short answer")
        confidence: float = OutputField(desc="0..1")

    return QA


def make_review() -> type[Signature]:
    class Review(Signature):
        """Classify the review."""

        text: str = InputField()
        tags: list[str] = InputField(default=[])
        label: Literal["pos", "neg"] = OutputField(desc="sentiment")
        score: float | None = OutputField(ge=0.0, le=1.0)
        mood: Mood = OutputField()
        keywords: list[str] = OutputField(min_length=1, max_length=3)
        title: str = OutputField(max_length=40, pattern="^[A-Z]")
        counts: dict[str, int] = OutputField()
        stars: int = OutputField(ge=1, le=5)
        spam: bool = OutputField()

    return Review


def test_output_schema_for_every_type_and_constraint() -> None:
    schema = make_review().compile().output_schema
    assert schema == {
        "type": "object",
        "properties": {
            "label": {"type": "string", "enum": ["pos", "neg"], "description": "sentiment"},
            "score": {
                "anyOf": [{"type": "number", "minimum": 0.0, "maximum": 1.0}, {"type": "null"}]
            },
            "mood": {"type": "string", "enum": ["happy", "sad"]},
            "keywords": {
                "type": "array",
                "items": {"type": "string", "maxLength": DEFAULT_MAX_LENGTH},
                "minItems": 1,
                "maxItems": 3,
            },
            "title": {"type": "string", "maxLength": 40, "pattern": "^[A-Z]"},
            "counts": {"type": "object", "additionalProperties": {"type": "integer"}},
            "stars": {"type": "integer", "minimum": 1, "maximum": 5},
            "spam": {"type": "boolean"},
        },
        "required": ["label", "mood", "keywords", "title", "counts", "stars", "spam"],
        "additionalProperties": False,
    }
    json.dumps(schema)  # serializable as sent to the provider


def test_input_schema_marks_defaults_optional() -> None:
    schema = make_review().compile().input_schema
    assert schema["required"] == ["text"]
    assert schema["properties"]["tags"] == {
        "type": "array",
        "items": {"type": "string", "maxLength": DEFAULT_MAX_LENGTH},
        "default": [],
    }
    assert schema["additionalProperties"] is False


@pytest.mark.parametrize(
    ("values", "expected"),
    [
        ((1, 2), {"type": "integer", "enum": [1, 2]}),
        ((True, False), {"type": "boolean", "enum": [True, False]}),
        (("a", 1), {"enum": ["a", 1]}),
    ],
)
def test_literal_schema_type_follows_its_values(values: tuple, expected: dict) -> None:
    sig = type(
        "L",
        (Signature,),
        {"__annotations__": {"x": Literal[values]}, "x": OutputField()},
    )
    assert sig.compile().output_schema["properties"]["x"] == expected


def test_class_and_string_forms_compile_to_the_same_schema() -> None:
    class Plain(Signature):
        text: str = InputField()
        items: list[int] = InputField()
        label: Literal["pos", "neg"] = OutputField()
        score: float | None = OutputField()
        meta: dict[str, list[bool]] = OutputField()
        extra: dict = OutputField()

    text = (
        "text, items: list[int] -> label: Literal['pos', 'neg'], score: float?, "
        "meta: dict[str, list[bool]], extra: dict"
    )
    from_class = Plain.compile()
    from_string = compile_signature(text)
    assert from_string.output_schema == from_class.output_schema
    assert from_string.input_schema == from_class.input_schema
    assert from_string.inputs == from_class.inputs
    assert from_string.outputs == from_class.outputs
    assert from_string.text == from_class.text


def test_canonical_text_round_trips() -> None:
    compiled = make_qa().compile()
    assert compiled.text == "question: str, context: str -> answer: str, confidence: float"
    again = compile_signature(compiled.text)
    assert again.outputs == tuple(
        type(f)(f.name, f.kind, f.type) for f in compiled.outputs
    )  # same names and types; descriptions are class-form only


def test_compile_is_cached_per_class_and_per_string() -> None:
    qa = make_qa()
    assert qa.compile() is qa.compile()
    assert compile_signature(qa) is qa.compile()
    assert compile_signature("q -> a") is compile_signature("q -> a")
    assert compile_signature("q -> a") is Signature.from_string("q -> a").compile()
    assert compile_signature("q -> a") is not compile_signature("q -> a2")


def test_compiled_signature_passes_through() -> None:
    compiled = make_qa().compile()
    assert compile_signature(compiled) is compiled


@pytest.mark.parametrize("bad", [42, None, make_qa, object, dict])
def test_compile_rejects_other_objects(bad: object) -> None:
    with pytest.raises(SignatureError, match="expected a Signature subclass or a signature string"):
        compile_signature(bad)  # type: ignore[arg-type]


def test_compiled_signature_is_immutable() -> None:
    compiled = make_qa().compile()
    with pytest.raises(AttributeError, match="immutable"):
        compiled.name = "other"  # type: ignore[misc]
    with pytest.raises(TypeError, match="read-only"):
        compiled.output_schema["properties"]["answer"]["maxLength"] = 5
    with pytest.raises(TypeError, match="read-only"):
        compiled.output_schema["required"].append("x")
    with pytest.raises(TypeError, match="read-only"):
        compiled.output_schema.update({"x": 1})
    assert isinstance(compiled.inputs, tuple)
    assert compiled.output_schema["properties"]["answer"]["maxLength"] == DEFAULT_MAX_LENGTH


def test_schema_copies_are_mutable_and_independent() -> None:
    schema = make_qa().compile().output_schema
    deep = copy.deepcopy(schema)
    deep["properties"]["answer"]["maxLength"] = 5
    deep["required"].append("x")
    assert type(deep) is dict and type(deep["required"]) is list
    shallow = schema.copy()
    shallow["title"] = "QA"
    assert "title" not in schema
    assert schema["properties"]["answer"]["maxLength"] == DEFAULT_MAX_LENGTH
    assert pickle.loads(pickle.dumps(schema)) == schema


def test_compiled_repr_and_name() -> None:
    qa = make_qa()
    compiled = qa.compile()
    assert compiled.name == "QA"
    assert compiled.signature is qa
    assert repr(compiled) == (
        "CompiledSignature('QA', 'question: str, context: str -> answer: str, confidence: float')"
    )


def test_compiled_signature_requires_an_output() -> None:
    with pytest.raises(SignatureError, match="has no output fields"):
        CompiledSignature("Empty", None, (), ())


# -- prompt ----------------------------------------------------------------------------------


def test_render_prompt_exact_text() -> None:
    prompt = (
        make_qa().compile().render_prompt({"question": "What is 2+2?", "context": "Arithmetic."})
    )
    assert prompt == (
        "Answer the question from the context.\n"
        "\n"
        "Question: What is 2+2?\n"
        "Context: Arithmetic.\n"
        "\n"
        "Respond with a JSON object with these fields:\n"
        "- answer (string): short answer\n"
        "- confidence (number): 0..1\n"
        "\n"
        "JSON:"
    )


def test_render_prompt_encodes_non_strings_and_describes_every_output_type() -> None:
    prompt = make_review().compile().render_prompt({"text": "Great", "tags": ["a", "é"]})
    assert 'Text: Great\nTags: ["a", "é"]\n' in prompt
    for line in (
        '- label (one of "pos", "neg"): sentiment',
        "- score (number or null)",
        '- mood (one of "happy", "sad")',
        "- keywords (list of string)",
        "- counts (object of integer)",
        "- stars (integer)",
        "- spam (true or false)",
    ):
        assert f"\n{line}\n" in prompt
    assert prompt.endswith("\n\nJSON:")


def test_render_prompt_labels_omit_none_and_render_enums() -> None:
    class Opt(Signature):
        user_id: int = InputField()
        mood: Mood = InputField()
        note: str | None = InputField()
        reply: str = OutputField()

    prompt = Opt.compile().render_prompt({"user_id": 7, "mood": "sad"})
    assert "User id: 7\nMood: sad\n\n" in prompt
    assert "Note:" not in prompt


def test_render_prompt_without_inputs_and_deterministic() -> None:
    compiled = compile_signature("-> joke")
    prompt = compiled.render_prompt({})
    assert prompt == (
        "Produce the fields joke.\n\nRespond with a JSON object with these fields:\n"
        "- joke (string)\n\nJSON:"
    )
    assert compiled.render_prompt({}) == prompt


def test_render_prompt_validates_inputs_unless_told_not_to() -> None:
    compiled = make_qa().compile()
    with pytest.raises(SignatureValidationError) as info:
        compiled.render_prompt({"question": "q"})
    assert info.value.fields == ("context",)
    prompt = compiled.render_prompt({"question": "q", "context": "c"}, validate=False)
    assert "Question: q\nContext: c\n" in prompt


def test_freeze_freezes_nested_dict_subclasses_and_tuples() -> None:
    from collections import OrderedDict

    from kaizen.signatures._frozen import FrozenDict, FrozenList, freeze

    frozen = freeze({"a": OrderedDict(b=[1, {"c": 2}]), "d": (1, None, "x")})
    assert type(frozen["a"]) is FrozenDict
    assert type(frozen["a"]["b"]) is FrozenList
    assert type(frozen["a"]["b"][1]) is FrozenDict
    assert frozen["d"] == [1, None, "x"]
    with pytest.raises(TypeError):
        frozen["a"]["b"][1]["c"] = 3
