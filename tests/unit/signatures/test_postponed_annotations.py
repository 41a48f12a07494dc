"""Signatures in modules using `from __future__ import annotations` (string annotations)."""

from __future__ import annotations

import enum
import typing
from typing import Literal, Optional

import pytest

from kaizen.errors import SignatureError
from kaizen.signatures import InputField, OutputField, Signature, compile_signature


class Tone(enum.Enum):
    FORMAL = "formal"
    CASUAL = "casual"


def _postponed() -> type[Signature]:
    """Defined in the test, not at import: the definition paths are what these tests check
    (a mutation run imports only the test modules it selects)."""

    class Postponed(Signature):
        """Rewrite the text."""

        text: str = InputField()
        items: list[int] = InputField()
        label: Literal["a", "b"] = OutputField()
        score: float | None = OutputField()
        maybe: Optional[int] = OutputField()  # noqa: UP045 - the typing spelling is under test
        tone: Tone = OutputField()  # not in the grammar: resolved through typing
        meta: typing.Dict[str, int] = OutputField()  # noqa: UP006

    return Postponed


def test_string_annotations_resolve_to_the_same_types() -> None:
    compiled = _postponed().compile()
    assert [str(f.type) for f in compiled.inputs + compiled.outputs] == [
        "str",
        "list[int]",
        "Literal['a', 'b']",
        "float?",
        "int?",
        "Tone",
        "dict[str, int]",
    ]
    assert (
        compiled.parse_output(
            {"label": "a", "score": None, "maybe": "1", "tone": "casual", "meta": {}}
        )["tone"]
        is Tone.CASUAL
    )


def test_matches_the_string_form() -> None:
    class Small(Signature):
        text: str = InputField()
        label: Literal["a", "b"] = OutputField()
        score: float | None = OutputField()

    same = compile_signature("text -> label: Literal['a', 'b'], score: float?")
    assert Small.compile().output_schema == same.output_schema


def test_unresolvable_annotation_names_the_field() -> None:
    expected = r"Broken.x: cannot resolve annotation 'Missing' \(NameError: "
    with pytest.raises(SignatureError, match=expected):

        class Broken(Signature):
            x: Missing = OutputField()  # type: ignore[name-defined]  # noqa: F821


def test_string_classvar_annotations_are_not_fields() -> None:
    namespace = {
        "__annotations__": {
            "limit": "typing.ClassVar[int]",
            "retries": "ClassVar[int]",
            "answer": "str",
        },
        "limit": 3,
        "retries": 1,
        "answer": OutputField(),
    }
    cls = type("WithClassVars", (Signature,), namespace)
    assert [f.name for f in cls.compile().outputs] == ["answer"]
    assert (cls.limit, cls.retries) == (3, 1)
