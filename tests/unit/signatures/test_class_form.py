"""Class-form signatures: supported types, definition errors, inheritance, field options."""

import enum
from typing import ClassVar, Literal, Optional

import pytest

from kaizen.errors import SignatureError
from kaizen.signatures import (
    MISSING,
    FieldSpec,
    InputField,
    OutputField,
    Signature,
    TypeSpec,
    compile_signature,
)


class Color(enum.Enum):
    RED = "red"
    GREEN = "green"


class QA(Signature):
    """Answer the question from the context."""

    question: str = InputField(desc="the question")
    context: str = InputField(desc="background")
    answer: str = OutputField(desc="short answer")
    confidence: float = OutputField(desc="0..1")


def _single_output(annotation: object) -> type[Signature]:
    return type(
        "One",
        (Signature,),
        {"__annotations__": {"out": annotation}, "out": OutputField()},
    )


def test_fields_keep_declaration_order_and_kinds() -> None:
    compiled = QA.compile()
    assert compiled.input_names == ("question", "context")
    assert compiled.output_names == ("answer", "confidence")
    assert [f.kind for f in compiled.inputs] == ["input", "input"]
    assert compiled.inputs[0].desc == "the question"
    assert compiled.outputs[1].type == TypeSpec("float")


def test_docstring_becomes_instructions() -> None:
    assert QA.compile().instructions == "Answer the question from the context."


def test_multiline_docstring_is_dedented() -> None:
    class Doc(Signature):
        """First line.

        Second line, indented in source.
            Nested stays relative.
        """

        answer: str = OutputField()

    assert Doc.compile().instructions == (
        "First line.\n\nSecond line, indented in source.\n    Nested stays relative."
    )


def test_missing_docstring_gets_generated_instructions() -> None:
    class NoDoc(Signature):
        question: str = InputField()
        answer: str = OutputField()

    assert NoDoc.compile().instructions == "Given the fields question, produce the fields answer."


def test_class_attributes_become_field_specs() -> None:
    assert isinstance(QA.question, FieldSpec)
    assert QA.question.name == "question"
    assert QA.answer.desc == "short answer"


@pytest.mark.parametrize(
    ("annotation", "text"),
    [
        (str, "str"),
        (int, "int"),
        (float, "float"),
        (bool, "bool"),
        (dict, "dict"),
        (list[str], "list[str]"),
        (list[list[int]], "list[list[int]]"),
        (dict[str, int], "dict[str, int]"),
        (Literal["pos", "neg"], "Literal['pos', 'neg']"),
        (Literal[1, True, "a"], "Literal[1, True, 'a']"),
        (Color, "Color"),
        (Optional[int], "int?"),  # noqa: UP045 - the typing spelling is what is under test
        (int | None, "int?"),
        (list[int | None], "list[int?]"),
        (Optional[Literal["a"]], "Literal['a']?"),  # noqa: UP045
    ],
)
def test_supported_annotations(annotation: object, text: str) -> None:
    spec = _single_output(annotation).compile().outputs[0]
    assert str(spec.type) == text


@pytest.mark.parametrize(
    ("annotation", "message"),
    [
        (list, "bare list needs an element type"),
        (tuple[int], "unsupported type"),
        (set, "unsupported type set"),
        (bytes, "unsupported type bytes"),
        (int | str, "only Optional[T]"),
        (Optional[int | str], "only Optional[T]"),  # noqa: UP045
        (dict[int, str], "dict keys must be str"),
        (Literal[1.5], "Literal values must be str, int or bool"),
        (type(None), "unsupported type NoneType"),
    ],
)
def test_unsupported_annotations_fail_at_class_creation(annotation: object, message: str) -> None:
    with pytest.raises(SignatureError, match=r"One\.out: ") as info:
        _single_output(annotation)
    assert message in str(info.value)


def test_enum_with_non_json_values_is_rejected() -> None:
    class Weird(enum.Enum):
        A = (1, 2)

    with pytest.raises(SignatureError, match=r"Weird\.A has value \(1, 2\)"):
        _single_output(Weird)


def test_field_without_annotation_is_rejected() -> None:
    with pytest.raises(SignatureError, match=r"Bad\.answer has no type annotation"):

        class Bad(Signature):
            answer = OutputField()


def test_annotated_attribute_without_field_is_rejected() -> None:
    with pytest.raises(SignatureError, match=r"Bad\.answer is annotated but is not a field"):

        class Bad(Signature):
            answer: str


def test_private_and_classvar_annotations_are_not_fields() -> None:
    class WithExtras(Signature):
        version: ClassVar[int] = 3
        _cache: dict
        answer: str = OutputField()

    compiled = WithExtras.compile()
    assert compiled.output_names == ("answer",)
    assert WithExtras.version == 3


def test_signature_without_outputs_is_rejected() -> None:
    with pytest.raises(SignatureError, match="NoOut has no output fields"):

        class NoOut(Signature):
            question: str = InputField()


@pytest.mark.parametrize(
    ("name", "message"),
    [
        ("compile", "is reserved"),
        ("from_string", "is reserved"),
        ("_hidden", "must not start with '_'"),
    ],
)
def test_reserved_field_names_are_rejected(name: str, message: str) -> None:
    namespace = {"__annotations__": {name: str}, name: OutputField()}
    with pytest.raises(SignatureError, match=message):
        type("Bad", (Signature,), namespace)


def test_signature_may_have_no_inputs() -> None:
    class Joke(Signature):
        joke: str = OutputField()

    compiled = Joke.compile()
    assert compiled.inputs == ()
    assert compiled.instructions == "Produce the fields joke."


def test_subclass_inherits_and_extends_fields() -> None:
    class QAWithSource(QA):
        source: str = OutputField(desc="where the answer came from")

    compiled = QAWithSource.compile()
    assert compiled.input_names == ("question", "context")
    assert compiled.output_names == ("answer", "confidence", "source")
    assert compiled.instructions == QA.compile().instructions  # docstring inherited


def test_subclass_override_keeps_position_and_takes_new_definition() -> None:
    class Loud(QA):
        """Shout."""

        answer: str = OutputField(desc="in capitals", max_length=10)

    compiled = Loud.compile()
    assert compiled.output_names == ("answer", "confidence")
    assert compiled.outputs[0].desc == "in capitals"
    assert compiled.instructions == "Shout."
    assert QA.compile().outputs[0].desc == "short answer"  # base untouched


def test_subclass_cannot_turn_an_input_into_an_output() -> None:
    with pytest.raises(SignatureError, match="'question' is both an input and an output"):

        class Flip(QA):
            question: str = OutputField()


def test_abstract_base_without_outputs_is_allowed_but_not_compilable() -> None:
    class Base(Signature, abstract=True):
        """Shared inputs."""

        text: str = InputField()

    class Concrete(Base):
        label: str = OutputField()

    assert Concrete.compile().input_names == ("text",)
    with pytest.raises(SignatureError, match="Base is abstract"):
        compile_signature(Base)
    with pytest.raises(SignatureError, match="Signature is abstract"):
        compile_signature(Signature)


def test_subclass_compile_cache_is_not_the_base_cache() -> None:
    class Child(QA):
        extra: int = OutputField()

    assert QA.compile() is not Child.compile()
    assert Child.compile().output_names[-1] == "extra"


def test_input_default_makes_field_optional() -> None:
    class WithDefault(Signature):
        question: str = InputField()
        style: Literal["short", "long"] = InputField(default="short")
        answer: str = OutputField()

    compiled = WithDefault.compile()
    style = compiled.inputs[1]
    assert (style.required, style.default) == (False, "short")
    assert compiled.inputs[0].default is MISSING
    assert compiled.input_schema["required"] == ["question"]
    assert compiled.input_schema["properties"]["style"]["default"] == "short"


def test_default_that_does_not_match_the_type_is_rejected() -> None:
    with pytest.raises(SignatureError, match="default 'x' does not match type int"):

        class Bad(Signature):
            n: int = InputField(default="x")
            answer: str = OutputField()


@pytest.mark.parametrize(
    ("annotation", "options", "message"),
    [
        (int, {"min_length": 1}, "min_length applies to str and list fields only"),
        (str, {"ge": 0}, "ge applies to int and float fields only"),
        (list[str], {"pattern": "a"}, "pattern applies to str fields only"),
        (str, {"min_length": 5, "max_length": 2}, "min_length 5 > max_length 2"),
        (str, {"max_length": -1}, "max_length must be an int >= 0"),
        (float, {"ge": 1.0, "le": 0.0}, "ge 1.0 > le 0.0"),
        (float, {"le": float("nan")}, "le must be a finite number"),
        (str, {"pattern": "("}, "invalid pattern"),
    ],
)
def test_bad_constraints_are_rejected(
    annotation: object, options: dict[str, object], message: str
) -> None:
    namespace = {"__annotations__": {"out": annotation}, "out": OutputField(**options)}
    with pytest.raises(SignatureError, match=r"One\.out: ") as info:
        type("One", (Signature,), namespace)
    assert message in str(info.value)


def test_desc_must_be_a_string() -> None:
    with pytest.raises(SignatureError, match="desc must be a str"):
        OutputField(desc=3)


def test_field_spec_is_immutable_and_comparable() -> None:
    spec = QA.compile().outputs[0]
    with pytest.raises(AttributeError, match="immutable"):
        spec.desc = "changed"  # type: ignore[misc]
    twin = FieldSpec("answer", "output", TypeSpec("str"), "short answer")
    assert spec == twin
    assert hash(spec) == hash(twin)
    assert spec != FieldSpec("answer", "output", TypeSpec("str"), "other")


def test_literal_one_and_true_are_different_types() -> None:
    assert TypeSpec("literal", values=(1,)) != TypeSpec("literal", values=(True,))


def test_instructions_keep_relative_indentation_below_the_first_line() -> None:
    doc = "Summarise.\n  Rules:\n    - be brief\n"  # the least indented line is the second
    cls = type("Indented", (Signature,), {"__doc__": doc, **_one_output()})
    assert cls.compile().instructions == "Summarise.\nRules:\n  - be brief"


def _one_output() -> dict[str, object]:
    return {"__annotations__": {"answer": str}, "answer": OutputField()}
