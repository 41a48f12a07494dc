"""The definition paths a signature takes (string form, inheritance, the known-names
memo, defaults) and the compiled signature's attribute protocol. Every signature here is
made inside its test, from text no other test uses: the string form is cached per text."""

from __future__ import annotations

import pytest

from kaizen.errors import SignatureError
from kaizen.signatures import (
    CompiledSignature,
    InputField,
    OutputField,
    Signature,
    compile_signature,
)
from kaizen.signatures import signature as signature_module

from ._fresh import unique


def test_a_string_signature_class_carries_its_name_instructions_and_fields() -> None:
    q, n, a = unique("q"), unique("n"), unique("a")
    cls = Signature.from_string(f"{q}, {n}: int -> {a}: list[str]", "Do it.", name="Made")
    assert (cls.__name__, cls.__doc__, cls.__module__) == (
        "Made",
        "Do it.",
        "kaizen.signatures.signature",
    )
    assert cls.__annotations__ == {q: str, n: int, a: list[str]}
    assert [(f.name, f.kind, str(f.type)) for f in cls.__kaizen_inputs__] == [
        (q, "input", "str"),
        (n, "input", "int"),
    ]
    assert [(f.name, f.kind, str(f.type)) for f in cls.__kaizen_outputs__] == [
        (a, "output", "list[str]")
    ]
    compiled = compile_signature(cls)
    assert compiled.instructions == "Do it." and compiled.output_names == (a,)
    assert Signature.from_string(f"{unique('x')} -> {unique('y')}").__name__ == ("StringSignature")


def test_string_classes_are_cached_per_text_instructions_and_name() -> None:
    text = f"{unique('q')} -> {unique('a')}"
    first = Signature.from_string(text)
    assert Signature.from_string(text) is first
    assert Signature.from_string(text, "Other.") is not first
    assert Signature.from_string(text, name="Named") is not first


def test_the_string_class_cache_stays_within_its_limit(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(signature_module, "_string_classes", {})
    monkeypatch.setattr(signature_module, "_CACHE_LIMIT", 2)
    texts = [f"{unique('q')} -> {unique('a')}" for _ in range(3)]
    for text in texts:
        Signature.from_string(text)
    assert [key[0] for key in signature_module._string_classes] == texts[1:]  # oldest out


def test_a_field_both_input_and_output_across_two_bases_names_both_sides() -> None:
    name = unique("x")

    base_in = type(
        "In", (Signature,), {"__annotations__": {name: str}, name: InputField()}, abstract=True
    )
    base_out = type("Out", (Signature,), {"__annotations__": {name: str}, name: OutputField()})

    with pytest.raises(SignatureError) as info:
        type("Both", (base_in, base_out), {})
    assert str(info.value) == (
        f"Both: field {name!r} is both an input and an output "
        "(output in a base class, input in In)"  # bases merged from the MRO's end
    )


def test_known_field_names_stop_growing_at_their_limit(monkeypatch: pytest.MonkeyPatch) -> None:
    known = set(signature_module._GOOD_NAMES)
    monkeypatch.setattr(signature_module, "_GOOD_NAMES", known)
    monkeypatch.setattr(signature_module, "_GOOD_NAMES_LIMIT", len(known))
    fresh = unique("fresh")
    type("Full", (Signature,), {"__annotations__": {fresh: str}, fresh: OutputField()})
    assert fresh not in known
    monkeypatch.setattr(signature_module, "_GOOD_NAMES_LIMIT", len(known) + 1)
    type("Room", (Signature,), {"__annotations__": {fresh: str}, fresh: OutputField()})
    assert fresh in known


def test_a_default_is_checked_strictly_against_its_type() -> None:
    with pytest.raises(SignatureError, match=r"default '3' does not match type int"):
        type(
            "StrictDefault",
            (Signature,),
            {
                "__annotations__": {"n": int, "answer": str},
                "n": InputField(default="3"),
                "answer": OutputField(),
            },
        )


def test_a_compiled_signature_made_directly_keeps_its_class_and_refuses_unknown_names() -> None:
    cls = Signature.from_string(f"{unique('q')} -> {unique('a')}")
    made = compile_signature(cls)
    direct = CompiledSignature(made.name, made.instructions, made.inputs, made.outputs, cls)
    assert direct.signature is cls
    with pytest.raises(
        AttributeError, match=r"^'CompiledSignature' object has no attribute 'nope'$"
    ):
        direct.nope  # noqa: B018


def test_probing_a_deferred_signature_for_a_dunder_computes_nothing() -> None:
    q, a = unique("q"), unique("a")
    cls = type(
        "Probed",
        (Signature,),
        {"__annotations__": {q: str, a: str}, q: InputField(), a: OutputField()},
    )
    compiled = compile_signature(cls)
    assert not hasattr(compiled, "__deepcopy_hook__")
    assert object.__getattribute__(compiled, "_parts") is not None  # still deferred
    assert compiled.output_names == (a,)
    assert object.__getattribute__(compiled, "_parts") is None


def test_the_compiled_string_cache_stays_within_its_limit(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(signature_module, "_string_compiled", {})
    monkeypatch.setattr(signature_module, "_CACHE_LIMIT", 2)
    texts = [f"{unique('q')} -> {unique('a')}" for _ in range(3)]
    compiled = [compile_signature(text) for text in texts]
    assert list(signature_module._string_compiled) == texts[1:]  # oldest out
    assert compile_signature(texts[2]) is compiled[2]


@pytest.mark.parametrize(("bad", "shown"), [(42, "int"), (None, "NoneType"), (dict, "type")])
def test_compiling_something_else_names_what_it_got(bad: object, shown: str) -> None:
    with pytest.raises(SignatureError, match=rf"got {bad!r} \({shown}\)$"):
        compile_signature(bad)  # type: ignore[arg-type]
