"""`Signature`: the declarative input/output contract of an agent, in class or string form.

    class QA(Signature):
        \"\"\"Answer the question from the context.\"\"\"
        question: str = InputField(desc="the question")
        answer: str = OutputField(desc="short answer")

    QA2 = Signature.from_string("question -> answer")

Definitions are checked when the class is created (types, names, defaults, constraints), so
errors surface at import time, not at the first model call. `compile_signature` turns either
form into a cached `CompiledSignature`.

Defining a class costs little more than Python's own `type()`: the common class (one base,
`Signature`; fields of type str/int/float/bool without defaults or constraints, names seen
before) is validated with a few set operations and its `FieldSpec`s are built on first use
(compiling, reading a field, subclassing). Any other class is checked and built at once.
Either way every error is raised at class definition.
"""

from __future__ import annotations

import typing
from typing import Any, ClassVar

from kaizen.errors import FieldError, SignatureError, SignatureParseError
from kaizen.signatures import grammar
from kaizen.signatures._coerce import coerce
from kaizen.signatures.compiler import CompiledSignature
from kaizen.signatures.fields import (
    MISSING,
    PLAIN_FIELD_TYPES,
    PLAIN_OUTPUT,
    FieldInfo,
    FieldSpec,
)
from kaizen.signatures.typespec import TypeSpec, from_annotation

COMPILED_ATTR = "_kaizen_compiled"
"""Class attribute caching the class's CompiledSignature (no dunder: setting a dunder on a
class makes CPython look for a slot to update)."""
_OWN = "__kaizen_own__"
"""Present in a class's own __dict__ once its fields are derived."""
_FAST_TYPES = frozenset({str, int, float, bool})
"""Annotations the definition fast path accepts without `from_annotation`."""
_GOOD_NAMES: set[str] = set()
"""Field names already found valid by `name_problem` (bounded by _GOOD_NAMES_LIMIT)."""
_GOOD_NAMES_LIMIT = 4096
_STANDARD_KEYS = 3
"""`__module__`, `__doc__` and `__annotations__`: in every class __dict__ that has fields
(`type()` adds the first two). The fast path needs the rest of the dict to be the fields."""
_CACHE_LIMIT = 1024
"""Bound on cached string signatures: prompts built from varying strings must not leak."""
_string_classes: dict[tuple[str, str | None, str | None], type[Signature]] = {}
_string_compiled: dict[str, CompiledSignature] = {}


class _Derived:
    """A `__kaizen_*__` class attribute of `Signature`: read through a subclass whose fields
    are not derived yet (see the module docstring), it derives them, then answers."""

    __slots__ = ("default", "name")

    def __init__(self, name: str, default: Any) -> None:
        self.name = name
        self.default = default

    def __get__(self, instance: Any, owner: type) -> Any:
        # Python passes the owner on every attribute read (class or instance)
        if owner is not Signature and _OWN not in owner.__dict__:
            _derive(owner)
            return getattr(owner, self.name)
        return self.default


class Signature:
    """Base class of signatures: the docstring is the instructions, annotated
    `InputField`/`OutputField` attributes are the fields (declaration order; subclasses
    inherit and may override fields). Pass `abstract=True` for a base without outputs."""

    __kaizen_own__: ClassVar[tuple[FieldSpec, ...]] = _Derived(_OWN, ())  # type: ignore[assignment]
    __kaizen_inputs__: ClassVar[tuple[FieldSpec, ...]] = _Derived("__kaizen_inputs__", ())  # type: ignore[assignment]
    __kaizen_outputs__: ClassVar[tuple[FieldSpec, ...]] = _Derived("__kaizen_outputs__", ())  # type: ignore[assignment]
    __kaizen_instructions__: ClassVar[str | None] = _Derived("__kaizen_instructions__", None)  # type: ignore[assignment]
    __kaizen_abstract__: ClassVar[bool] = _Derived("__kaizen_abstract__", True)  # type: ignore[assignment]
    _kaizen_compiled: ClassVar[CompiledSignature | None] = None  # see COMPILED_ATTR

    def __init_subclass__(
        cls,
        *,
        abstract: bool = False,
        _parsed: tuple[tuple[FieldSpec, ...], tuple[FieldSpec, ...]] | None = None,
        **kwargs: Any,
    ) -> None:
        if not kwargs and _parsed is None and abstract is False and cls.__bases__ == _BASES:
            # The fast path: every check the full derivation would make, as set operations.
            # It holds when the dict is exactly the standard keys plus annotated plain
            # declarations (at least one an output) with known-good names and scalar types.
            # Subscripts, not `.get`: a mappingproxy's `get` is a generic method call.
            namespace = cls.__dict__
            try:
                annotations = namespace["__annotations__"]
                if (
                    annotations.__class__ is dict
                    and len(namespace) == len(annotations) + _STANDARD_KEYS
                    and _GOOD_NAMES.issuperset(annotations)
                ):
                    kinds = {type(namespace[name]) for name in annotations}
                    if (
                        PLAIN_OUTPUT in kinds
                        and kinds <= PLAIN_FIELD_TYPES
                        and _FAST_TYPES.issuperset(annotations.values())
                    ):
                        return  # valid: the FieldSpecs are built on first use
            except (KeyError, TypeError):  # no annotations, an annotation without a value,
                pass  # an unhashable annotation: the full path says what is wrong
        super().__init_subclass__(**kwargs)
        _derive(cls, abstract, _parsed)

    @classmethod
    def compile(cls) -> CompiledSignature:
        """The cached `CompiledSignature` of this class."""
        return compile_signature(cls)

    @staticmethod
    def from_string(
        text: str, instructions: str | None = None, *, name: str | None = None
    ) -> type[Signature]:
        """A Signature subclass from the string grammar (see `kaizen.signatures.grammar`),
        cached per (text, instructions, name). SignatureParseError if malformed."""
        key = (text, instructions, name)
        cls = _string_classes.get(key)
        if cls is None:
            cls = _class_from_string(text, instructions, name)
            if len(_string_classes) >= _CACHE_LIMIT:
                del _string_classes[next(iter(_string_classes))]
            _string_classes[key] = cls
        return cls


def parse_signature(
    text: str, instructions: str | None = None, *, name: str | None = None
) -> type[Signature]:
    """Same as `Signature.from_string`."""
    return Signature.from_string(text, instructions, name=name)


def compile_signature(sig: type[Signature] | str | CompiledSignature) -> CompiledSignature:
    """The cached `CompiledSignature` of a Signature subclass or a signature string
    (strings are cached by their text). A CompiledSignature is returned as is."""
    if sig.__class__ is type:  # a class: the cached compile is one attribute read
        cached = getattr(sig, COMPILED_ATTR, None)
        if cached is not None and cached.signature is sig:  # not a base class's
            return cached
    elif isinstance(sig, str):
        compiled = _string_compiled.get(sig)
        if compiled is None:
            compiled = compile_signature(Signature.from_string(sig))
            if len(_string_compiled) >= _CACHE_LIMIT:
                del _string_compiled[next(iter(_string_compiled))]
            _string_compiled[sig] = compiled
        return compiled
    if isinstance(sig, CompiledSignature):
        return sig
    if not (isinstance(sig, type) and issubclass(sig, Signature)):
        raise SignatureError(
            f"expected a Signature subclass or a signature string, got {sig!r} "
            f"({type(sig).__name__})"
        )
    own = sig.__dict__  # `in` first: mappingproxy.get is a slow generic method call
    if sig is Signature or ("__kaizen_abstract__" in own and own["__kaizen_abstract__"]):  # noqa: RUF019
        raise SignatureError(
            f"{sig.__name__} is abstract (a base class without a complete field set); "
            "compile a concrete subclass"
        )
    compiled = CompiledSignature.deferred(sig.__name__, sig, _compiled_parts)
    type.__setattr__(sig, COMPILED_ATTR, compiled)
    return compiled


def _compiled_parts(
    sig: type[Signature],
) -> tuple[str | None, tuple[FieldSpec, ...], tuple[FieldSpec, ...]]:
    """What a deferred CompiledSignature needs from its class, on its first use."""
    if _OWN not in sig.__dict__:
        _derive(sig)
    return sig.__kaizen_instructions__, sig.__kaizen_inputs__, sig.__kaizen_outputs__


# -- class-form internals ----------------------------------------------------------------


def _derive(
    cls: type[Signature],
    abstract: bool = False,
    parsed: tuple[tuple[FieldSpec, ...], tuple[FieldSpec, ...]] | None = None,
) -> None:
    """Check and build `cls`'s fields and store them on the class (`__kaizen_*__`), replacing
    each declaration by its FieldSpec. Raises SignatureError naming the class and field."""
    own = _own_fields(cls) if parsed is None else (*parsed[0], *parsed[1])
    merged: dict[str, FieldSpec] = {}
    for base in reversed(cls.__mro__[1:]):
        if base is Signature or not issubclass(base, Signature):
            continue
        if _OWN not in base.__dict__:
            _derive(base)
        for spec in base.__dict__[_OWN]:
            _merge(cls, merged, spec, base)
    for spec in own:
        _merge(cls, merged, spec, cls)
    outputs = tuple(f for f in merged.values() if f.kind == "output")
    if not abstract and not outputs:
        raise SignatureError(
            f"{cls.__name__} has no output fields: declare at least one "
            "`name: T = OutputField(...)` (or pass abstract=True for a base class)"
        )
    doc = cls.__dict__.get("__doc__")
    if isinstance(doc, str) and doc.strip():
        cls.__kaizen_instructions__ = _cleandoc(doc)
    cls.__kaizen_inputs__ = tuple(f for f in merged.values() if f.kind == "input")
    cls.__kaizen_outputs__ = outputs
    cls.__kaizen_abstract__ = abstract
    for spec in own:
        setattr(cls, spec.name, spec)
    cls.__kaizen_own__ = tuple(own)  # last: marks the class derived
    if len(_GOOD_NAMES) < _GOOD_NAMES_LIMIT:
        _GOOD_NAMES.update(spec.name for spec in own)


def _spec_for_declaration(owner: type | None, info: FieldInfo) -> Any:
    """`owner.<field>` while the class that declared it is not derived yet: derive it and
    return the FieldSpec that replaced `info`; `info` itself outside a signature class."""
    if not (isinstance(owner, type) and issubclass(owner, Signature)):
        return info
    for klass in owner.__mro__:
        for name, value in klass.__dict__.items():
            if value is info:
                if _OWN not in klass.__dict__:
                    _derive(klass)
                return getattr(owner, name)
    return info


def _merge(cls: type, merged: dict[str, FieldSpec], spec: FieldSpec, owner: type) -> None:
    previous = merged.get(spec.name)
    if previous is not None and previous.kind != spec.kind:
        raise SignatureError(
            f"{cls.__name__}: field {spec.name!r} is both an input and an output "
            f"({previous.kind} in a base class, {spec.kind} in {owner.__name__})"
        )
    merged[spec.name] = spec  # an override keeps the base's position


def _is_classvar(annotation: Any) -> bool:
    if isinstance(annotation, str):
        return annotation.startswith(("ClassVar", "typing.ClassVar"))
    return annotation is ClassVar or getattr(annotation, "__origin__", None) is ClassVar


def _own_fields(cls: type) -> list[FieldSpec]:
    namespace = cls.__dict__
    annotations: dict[str, Any] = namespace.get("__annotations__", {})
    for attr, value in namespace.items():
        if isinstance(value, FieldInfo) and attr not in annotations:
            raise SignatureError(
                f"{cls.__name__}.{attr} has no type annotation: write "
                f"`{attr}: str = {value!r}` (or another supported type)"
            )
    hints: dict[str, Any] | None = None
    own: list[FieldSpec] = []
    for attr, annotation in annotations.items():
        info = namespace.get(attr)
        if not isinstance(info, FieldInfo):
            if attr.startswith("_") or _is_classvar(annotation):
                continue
            raise SignatureError(
                f"{cls.__name__}.{attr} is annotated but is not a field: assign "
                f"InputField(...) or OutputField(...)"
            )
        where = f"{cls.__name__}.{attr}"
        try:  # FieldSpec checks the name too
            if isinstance(annotation, str):
                spec_type, hints = _resolve_string_annotation(cls, attr, annotation, hints)
            else:
                spec_type = from_annotation(annotation)
            own.append(_field_spec(attr, info, spec_type))
        except SignatureError as exc:
            raise SignatureError(f"{where}: {exc}") from None
    return own


def _resolve_string_annotation(
    cls: type, attr: str, annotation: str, hints: dict[str, Any] | None
) -> tuple[TypeSpec, dict[str, Any] | None]:
    """Postponed annotations (`from __future__ import annotations`): the grammar reads the
    common spellings without evaluating anything; other names need typing.get_type_hints."""
    try:
        return grammar.parse_type(annotation), hints
    except SignatureParseError:
        pass
    if hints is None:
        try:
            hints = typing.get_type_hints(cls)
        except Exception as exc:
            raise SignatureError(
                f"cannot resolve annotation {annotation!r} ({type(exc).__name__}: {exc}); "
                "the names it uses must be importable from the class's module"
            ) from None
    return from_annotation(hints[attr]), hints


def _field_spec(name: str, info: FieldInfo, spec_type: TypeSpec) -> FieldSpec:
    default = info.default
    if default is not MISSING:
        errors: list[FieldError] = []
        checked = coerce(spec_type, default, name, errors, True)
        if errors:
            raise SignatureError(
                f"default {default!r} does not match type {spec_type}: {errors[0].message}"
            )
        default = checked
    return FieldSpec(
        name,
        info.kind,
        spec_type,
        info.desc,
        default=default,
        min_length=info.min_length,
        max_length=info.max_length,
        ge=info.ge,
        le=info.le,
        pattern=info.pattern,
    )


def _cleandoc(doc: str) -> str:
    """inspect.cleandoc without importing inspect (slow to import)."""
    lines = doc.expandtabs().splitlines()
    rest = [line for line in lines[1:] if line.strip()]
    indent = min((len(line) - len(line.lstrip()) for line in rest), default=0)
    cleaned = [lines[0].strip()] + [line[indent:].rstrip() for line in lines[1:]]
    while cleaned and not cleaned[0]:
        cleaned.pop(0)
    while cleaned and not cleaned[-1]:
        cleaned.pop()
    return "\n".join(cleaned)


# -- string-form internals ---------------------------------------------------------------


def _class_from_string(text: str, instructions: str | None, name: str | None) -> type[Signature]:
    if not isinstance(text, str):
        raise SignatureError(f"a signature string must be a str, got {type(text).__name__}")
    parsed = grammar.parse(text)
    inputs = tuple(FieldSpec(f.name, "input", f.type) for f in parsed.inputs)
    outputs = tuple(FieldSpec(f.name, "output", f.type) for f in parsed.outputs)
    namespace: dict[str, Any] = {
        "__doc__": instructions,  # type() takes __module__ from this module's globals
        "__annotations__": {f.name: f.annotation for f in (*inputs, *outputs)},
    }
    return type(name or "StringSignature", (Signature,), namespace, _parsed=(inputs, outputs))


_BASES = (Signature,)
