"""The cheap definition path: a common signature class is validated at definition with set
operations and its fields are built on first use. Errors must still raise at definition, and
what is built later must equal what the full path builds at once."""

from __future__ import annotations

import threading
from typing import Any, ClassVar

import pytest

from kaizen.errors import SignatureError
from kaizen.signatures import (
    CompiledSignature,
    FieldSpec,
    InputField,
    OutputField,
    Signature,
    compile_signature,
)

OWN = "__kaizen_own__"  # in a class's own __dict__ once its fields are built


class Primer(Signature):
    """Defined first so the field names below are known-good (the fast path needs that)."""

    question: str = InputField()
    context: str = InputField()
    answer: str = OutputField()
    confidence: float = OutputField()


def _qa(name: str = "QA") -> type[Signature]:
    return type(
        name,
        (Signature,),
        {
            "__doc__": "Answer the question from the context.",
            "__annotations__": {
                "question": str,
                "context": str,
                "answer": str,
                "confidence": float,
            },
            "question": InputField(desc="the question"),
            "context": InputField(desc="background"),
            "answer": OutputField(desc="short answer"),
            "confidence": OutputField(desc="0..1"),
        },
    )


def _qa_full_path() -> type[Signature]:
    """The same signature through the full path (a ClassVar annotation takes it there)."""

    class QA(Signature):
        """Answer the question from the context."""

        version: ClassVar[int] = 1
        question: str = InputField(desc="the question")
        context: str = InputField(desc="background")
        answer: str = OutputField(desc="short answer")
        confidence: float = OutputField(desc="0..1")

    assert OWN in QA.__dict__
    return QA


COMPILED_ATTRS = (
    "name",
    "instructions",
    "text",
    "inputs",
    "outputs",
    "input_names",
    "output_names",
    "input_schema",
    "output_schema",
    "_input_plan",
    "_output_plan",
    "_prompt_head",
    "_prompt_tail",
)


def test_common_class_is_not_built_at_definition() -> None:
    qa = _qa()
    assert OWN not in qa.__dict__  # validated, fields deferred
    assert isinstance(qa.__dict__["question"], type(InputField()))


def test_first_compile_equals_the_full_path_and_is_cached() -> None:
    lazy, full = _qa(), _qa_full_path()
    compiled = compile_signature(lazy)
    assert compiled is compile_signature(lazy) is lazy.compile()
    reference = compile_signature(full)
    for attr in COMPILED_ATTRS:
        assert getattr(compiled, attr) == getattr(reference, attr), attr
    assert OWN in lazy.__dict__  # built on first use ...
    schema = compiled.output_schema
    assert compiled.output_schema is schema  # ... once
    inputs = {"question": "What is 2+2?", "context": "Arithmetic."}
    assert compiled.render_prompt(inputs) == reference.render_prompt(inputs)
    raw = '{"answer": "4", "confidence": "0.9"}'
    assert (
        compiled.parse_output(raw)
        == reference.parse_output(raw)
        == {
            "answer": "4",
            "confidence": 0.9,
        }
    )


def test_compile_defers_its_contents_until_first_read() -> None:
    qa = _qa()
    compiled = compile_signature(qa)
    assert OWN not in qa.__dict__  # compiling alone builds nothing
    assert compiled.name == "QA" and compiled.signature is qa
    assert compiled.output_names == ("answer", "confidence")  # the first read fills it all
    assert OWN in qa.__dict__
    assert repr(compiled) == (
        "CompiledSignature('QA', 'question: str, context: str -> answer: str, confidence: float')"
    )
    with pytest.raises(AttributeError, match="immutable"):
        compiled.text = "x"  # type: ignore[misc]
    with pytest.raises(AttributeError, match="no attribute 'nope'"):
        compiled.nope  # type: ignore[attr-defined]  # noqa: B018


def test_reading_a_field_builds_the_class() -> None:
    qa = _qa()
    spec = qa.question  # type: ignore[attr-defined]
    assert isinstance(spec, FieldSpec) and spec.name == "question" and spec.desc == "the question"
    assert qa.__dict__["question"] is spec and OWN in qa.__dict__


def test_reading_class_field_tuples_builds_the_class() -> None:
    qa = _qa()
    assert [f.name for f in qa.__kaizen_inputs__] == ["question", "context"]
    assert [f.name for f in qa.__kaizen_outputs__] == ["answer", "confidence"]
    assert qa.__kaizen_instructions__ == "Answer the question from the context."
    assert qa.__kaizen_abstract__ is False
    assert Signature.__kaizen_abstract__ is True and Signature.__kaizen_inputs__ == ()


def test_subclass_of_an_unbuilt_class_inherits_its_fields() -> None:
    base = _qa("Base")

    class Child(base):  # type: ignore[valid-type, misc]
        extra: int = InputField(ge=0)

    compiled = Child.compile()
    assert compiled.input_names == ("question", "context", "extra")
    assert compiled.instructions == "Answer the question from the context."
    assert compile_signature(base) is not compiled
    assert compile_signature(base).input_names == ("question", "context")


def test_concurrent_first_use_fills_once_and_alike() -> None:
    compiled = compile_signature(_qa())
    seen: list[Any] = []
    barrier = threading.Barrier(8)

    def read() -> None:
        barrier.wait()
        seen.append(compiled.output_schema)

    threads = [threading.Thread(target=read) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(seen) == 8 and all(s is seen[0] for s in seen)


def test_eager_constructor_is_unchanged() -> None:
    full = compile_signature(_qa_full_path())
    direct = CompiledSignature("QA", full.instructions, full.inputs, full.outputs)
    for attr in COMPILED_ATTRS:
        assert getattr(direct, attr) == getattr(full, attr), attr


# -- errors still raise at definition, through namespaces the fast path looks at ----------


def _define(annotations: dict[str, Any], **attrs: Any) -> type[Signature]:
    return type("Bad", (Signature,), {"__annotations__": annotations, **attrs})


@pytest.mark.parametrize(
    ("annotations", "attrs", "message"),
    [
        ({"question": str}, {"question": InputField()}, "no output fields"),
        (
            {"question": str, "answer": str},
            {"question": "plain", "answer": OutputField()},
            "annotated but is not a field",
        ),
        ({"answer": str}, {"answer": OutputField(), "context": InputField()}, "no type annotation"),
        (  # as many keys as a valid class has, one of them not the annotated name
            {"question": str, "answer": str},
            {"answer": OutputField(), "helper": 5},
            "annotated but is not a field",
        ),
        ({"answer": list}, {"answer": OutputField()}, "bare list"),
        ({"answer": object}, {"answer": OutputField()}, "unsupported type"),
        ({"answer": ["x"]}, {"answer": OutputField()}, "unsupported type"),
        ({"1x": str}, {"1x": OutputField()}, "not a Python identifier"),
        ({"compile": str}, {"compile": OutputField()}, "reserved"),
        ({"confidence": float}, {"confidence": OutputField(min_length=1)}, "str and list"),
        (
            {"question": int, "answer": str},
            {"question": InputField(default="x"), "answer": OutputField()},
            "default",
        ),
    ],
    ids=[
        "no-outputs",
        "annotated-non-field",
        "unannotated-field",
        "annotation-without-value",
        "bare-list",
        "unsupported",
        "unhashable-annotation",
        "bad-name",
        "reserved-name",
        "bad-constraint",
        "bad-default",
    ],
)
def test_bad_signatures_still_fail_at_definition(
    annotations: dict[str, Any], attrs: dict[str, Any], message: str
) -> None:
    with pytest.raises(SignatureError, match=message):
        _define(annotations, **attrs)


def test_abstract_and_non_signatures_still_refused_at_compile() -> None:
    class Base(Signature, abstract=True):
        question: str = InputField()

    with pytest.raises(SignatureError, match="abstract"):
        compile_signature(Base)
    with pytest.raises(SignatureError, match="abstract"):
        compile_signature(Signature)
    with pytest.raises(SignatureError, match="expected a Signature subclass"):
        compile_signature(dict)  # type: ignore[arg-type]


def test_a_declaration_outside_a_signature_class_reads_as_itself() -> None:
    declaration = InputField(desc="kept")

    class Plain:
        question = declaration

    assert Plain.question is declaration
    assert Plain().question is declaration
