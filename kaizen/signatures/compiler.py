"""`CompiledSignature`: everything a run needs from a signature, computed once.

It holds the JSON Schemas (the output schema goes to the provider as the structured-output
`format`), renders the completion prompt for a base model, validates caller inputs strictly
and coerces model outputs leniently, always reporting every failing field at once.
"""

from __future__ import annotations

import enum
from _thread import RLock
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

from kaizen.errors import FieldError, SignatureError, SignatureValidationError
from kaizen.signatures._coerce import INVALID, coerce
from kaizen.signatures._extract import NoJSONObject, extract_json_object
from kaizen.signatures._frozen import freeze
from kaizen.signatures.fields import MISSING, FieldSpec

if TYPE_CHECKING:
    from kaizen.signatures.signature import Signature

OUTPUT_FIELD = "<output>"
"""`FieldError.field` for problems with the output as a whole (no JSON object, not a dict)."""
INPUTS_FIELD = "<inputs>"
"""`FieldError.field` when the inputs are not a mapping at all."""
PROMPT_CUE = "JSON:"
"""The prompt's last line: a base model continues it with the object."""


def default_instructions(inputs: tuple[FieldSpec, ...], outputs: tuple[FieldSpec, ...]) -> str:
    """Instructions for a signature without a docstring (and for string signatures)."""
    produce = f"produce the fields {', '.join(f.name for f in outputs)}."
    if not inputs:
        return produce[0].upper() + produce[1:]
    return f"Given the fields {', '.join(f.name for f in inputs)}, {produce}"


def _label(name: str) -> str:
    """`user_id` -> `User id`: reads naturally for a small model, stays deterministic."""
    text = name.replace("_", " ").strip() or name
    return text[0].upper() + text[1:]


def _json_default(value: Any) -> Any:
    if isinstance(value, enum.Enum):
        return value.value
    raise TypeError(f"{type(value).__name__} is not JSON serializable")


def _render_value(value: Any) -> str:
    if isinstance(value, enum.Enum):
        value = value.value
    if isinstance(value, str):
        return value
    import json  # lazy: keeps `import kaizen.signatures` cheap

    return json.dumps(value, ensure_ascii=False, default=_json_default)


def _object_schema(fields: tuple[FieldSpec, ...]) -> dict[str, Any]:
    return {
        "type": "object",
        "properties": {f.name: f.json_schema() for f in fields},
        "required": [f.name for f in fields if f.required],
        "additionalProperties": False,
    }


def _has_constraints(field: FieldSpec) -> bool:
    return (
        field.min_length is not None
        or field.max_length is not None
        or field.ge is not None
        or field.le is not None
        or field.pattern is not None
    )


_Parts = Callable[[Any], tuple[str | None, tuple[FieldSpec, ...], tuple[FieldSpec, ...]]]
_FILL_LOCK = RLock()
"""Serialises the one-time fill of deferred compiled signatures (re-entrant: a fill that
derives a base class never waits on itself)."""


class CompiledSignature:
    """The compiled, immutable form of a signature. Get one with `compile_signature(sig)`
    or `MySignature.compile()`; both are cached.

    `compile_signature` of a class returns a deferred one (`deferred`): only `name` and
    `signature` are set, and the first read of anything else computes all of it once
    (fields, schemas, prompt pieces) through `__getattr__`, which Python calls only for a
    slot not yet set; from then on every attribute is a plain slot read."""

    __slots__ = (
        "_input_plan",
        "_output_plan",
        "_parts",
        "_prompt_head",
        "_prompt_tail",
        "input_names",
        "input_schema",
        "inputs",
        "instructions",
        "name",
        "output_names",
        "output_schema",
        "outputs",
        "signature",
        "text",
    )

    name: str
    instructions: str
    text: str
    inputs: tuple[FieldSpec, ...]
    outputs: tuple[FieldSpec, ...]
    input_names: tuple[str, ...]
    output_names: tuple[str, ...]
    input_schema: dict[str, Any]
    output_schema: dict[str, Any]
    signature: type[Signature] | None
    _input_plan: tuple[tuple[str, FieldSpec, bool], ...]
    _output_plan: tuple[tuple[str, FieldSpec, bool], ...]
    _prompt_head: str
    _prompt_tail: str
    _parts: _Parts | None

    def __init__(
        self,
        name: str,
        instructions: str | None,
        inputs: tuple[FieldSpec, ...],
        outputs: tuple[FieldSpec, ...],
        signature: type[Signature] | None = None,
    ) -> None:
        if not outputs:
            raise SignatureError(f"signature {name!r} has no output fields")
        setter = object.__setattr__
        setter(self, "name", name)
        setter(self, "signature", signature)
        setter(self, "_parts", None)
        self._fill(instructions, tuple(inputs), tuple(outputs))

    @classmethod
    def deferred(cls, name: str, signature: type[Signature], parts: _Parts) -> CompiledSignature:
        """A compiled signature whose contents are computed on first use from
        `parts(signature)` -> (instructions, inputs, outputs), which must not fail for a
        signature that was valid when defined (no outputs is SignatureError then)."""
        self = object.__new__(cls)
        setter = object.__setattr__
        setter(self, "name", name)
        setter(self, "signature", signature)
        setter(self, "_parts", parts)
        return self

    def __getattr__(self, attr: str) -> Any:
        """Reached only for a slot not set yet: fill a deferred signature, then read."""
        parts = object.__getattribute__(self, "_parts")
        if parts is None or attr.startswith("__"):
            raise AttributeError(f"{type(self).__name__!r} object has no attribute {attr!r}")
        with _FILL_LOCK:
            if object.__getattribute__(self, "_parts") is not None:  # not filled meanwhile
                instructions, inputs, outputs = parts(self.signature)
                if not outputs:
                    raise SignatureError(f"signature {self.name!r} has no output fields")
                self._fill(instructions, tuple(inputs), tuple(outputs))
                object.__setattr__(self, "_parts", None)
        return object.__getattribute__(self, attr)

    def _fill(
        self,
        instructions: str | None,
        inputs: tuple[FieldSpec, ...],
        outputs: tuple[FieldSpec, ...],
    ) -> None:
        if instructions is None or not instructions.strip():
            instructions = default_instructions(inputs, outputs)
        setter = object.__setattr__
        setter(self, "instructions", instructions)
        setter(self, "inputs", inputs)
        setter(self, "outputs", outputs)
        setter(self, "input_names", tuple(f.name for f in inputs))
        setter(self, "output_names", tuple(f.name for f in outputs))
        setter(
            self,
            "text",
            f"{', '.join(f'{f.name}: {f.type}' for f in inputs)}"
            f"{' ' if inputs else ''}-> {', '.join(f'{f.name}: {f.type}' for f in outputs)}",
        )
        setter(self, "input_schema", freeze(_object_schema(inputs)))
        setter(self, "output_schema", freeze(_object_schema(outputs)))
        setter(self, "_input_plan", tuple((f.name, f, _has_constraints(f)) for f in inputs))
        setter(self, "_output_plan", tuple((f.name, f, _has_constraints(f)) for f in outputs))
        lines = [
            f"- {f.name} ({f.type.describe()})" + (f": {f.desc}" if f.desc else "") for f in outputs
        ]
        setter(self, "_prompt_head", instructions.strip() + "\n\n")
        setter(
            self,
            "_prompt_tail",
            "Respond with a JSON object with these fields:\n"
            + "\n".join(lines)
            + f"\n\n{PROMPT_CUE}",
        )

    def __setattr__(self, name: str, value: Any) -> None:
        raise AttributeError("CompiledSignature is immutable")

    def __delattr__(self, name: str) -> None:
        raise AttributeError("CompiledSignature is immutable")

    def __repr__(self) -> str:
        return f"CompiledSignature({self.name!r}, {self.text!r})"

    # -- inputs ----------------------------------------------------------------------------

    def validate_inputs(self, inputs: Mapping[str, Any]) -> dict[str, Any]:
        """Checked inputs in declaration order, defaults filled in. Strict: `"3"` is not an
        int. SignatureValidationError names every missing, unknown or mistyped input."""
        if not isinstance(inputs, Mapping):
            error = FieldError(
                INPUTS_FIELD,
                f"expected a mapping of input names to values, got {type(inputs).__name__}",
                inputs,
            )
            raise SignatureValidationError(self.name, [error], inputs)
        errors: list[FieldError] = []
        values: dict[str, Any] = {}
        present = 0
        for name, field, constrained in self._input_plan:
            if name not in inputs:
                if field.required:
                    errors.append(FieldError(name, "required input is missing"))
                    continue
                default = field.default
                if default is MISSING:
                    default = None
                elif isinstance(default, list | dict):
                    default = default.copy()  # never share a mutable default between calls
                values[name] = default
                continue
            present += 1
            value = coerce(field.type, inputs[name], name, errors, True)
            if value is INVALID:
                continue
            if constrained:
                problem = field.check_constraints(value)
                if problem:
                    errors.append(FieldError(name, problem, value))
                    continue
            values[name] = value
        if len(inputs) > present:
            known = self.input_names
            expected = ", ".join(known) if known else "none"
            for name in inputs:
                if name not in known:
                    errors.append(
                        FieldError(str(name), f"unknown input; expected: {expected}", inputs[name])
                    )
        if errors:
            raise SignatureValidationError(self.name, errors, inputs)
        return values

    def render_prompt(self, inputs: Mapping[str, Any], *, validate: bool = True) -> str:
        """The completion prompt for a base model: instructions, one `Label: value` line per
        input (non-strings JSON-encoded, absent optionals omitted), the expected JSON fields,
        then the `JSON:` cue. Pass `validate=False` for inputs already from `validate_inputs`.
        """
        values = self.validate_inputs(inputs) if validate else inputs
        parts = [self._prompt_head]
        lines = [
            f"{_label(name)}: {_render_value(values[name])}"
            for name in self.input_names
            if values.get(name) is not None
        ]
        if lines:
            parts.append("\n".join(lines))
            parts.append("\n\n")
        parts.append(self._prompt_tail)
        return "".join(parts)

    # -- outputs ---------------------------------------------------------------------------

    def parse_output(self, raw: str | Mapping[str, Any]) -> dict[str, Any]:
        """Validated outputs (a new dict, declaration order) from model text or a mapping.

        Lenient where unambiguous: ints from `"42"`/`42.0`, floats from ints and numeric
        strings, bools from true/false/yes/no strings, numbers for str fields become strings,
        Literal/Enum matched by value, then by stripped or case-insensitive text (Enum fields
        return members). Missing optional outputs are None; unknown keys are dropped.
        SignatureValidationError lists every failing field and carries `raw`."""
        if isinstance(raw, Mapping):
            data: Mapping[str, Any] = raw
        elif isinstance(raw, str):
            try:
                data = extract_json_object(raw)
            except NoJSONObject as exc:
                error = FieldError(OUTPUT_FIELD, str(exc), raw)
                raise SignatureValidationError(self.name, [error], raw) from None
        else:
            error = FieldError(
                OUTPUT_FIELD, f"expected model text or a mapping, got {type(raw).__name__}", raw
            )
            raise SignatureValidationError(self.name, [error], raw)
        errors: list[FieldError] = []
        values: dict[str, Any] = {}
        for name, field, constrained in self._output_plan:
            if name not in data:
                if field.required:
                    errors.append(FieldError(name, "required output is missing"))
                else:
                    values[name] = None
                continue
            value = coerce(field.type, data[name], name, errors, False)
            if value is INVALID:
                continue
            if constrained:
                problem = field.check_constraints(value)
                if problem:
                    errors.append(FieldError(name, problem, value))
                    continue
            values[name] = value
        if errors:
            raise SignatureValidationError(self.name, errors, raw)
        return values
