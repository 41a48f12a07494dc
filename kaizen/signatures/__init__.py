"""Signatures: typed input/output contracts for agents, in class or string form.

`Signature`, `InputField`, `OutputField` declare one; `compile_signature` (cached) turns it
into a `CompiledSignature` holding the JSON Schemas, the prompt renderer and the validators.
The string grammar is documented in `kaizen.signatures.grammar`. Stdlib only, so importing
this package stays cheap.
"""

from __future__ import annotations

from kaizen.signatures.compiler import CompiledSignature
from kaizen.signatures.fields import (
    DEFAULT_MAX_LENGTH,
    MISSING,
    RESERVED_NAMES,
    FieldSpec,
    InputField,
    OutputField,
)
from kaizen.signatures.signature import Signature, compile_signature, parse_signature
from kaizen.signatures.typespec import TypeSpec

__all__ = [
    "DEFAULT_MAX_LENGTH",
    "MISSING",
    "RESERVED_NAMES",
    "CompiledSignature",
    "FieldSpec",
    "InputField",
    "OutputField",
    "Signature",
    "TypeSpec",
    "compile_signature",
    "parse_signature",
]
