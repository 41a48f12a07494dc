"""Names and classes no other test has made: the string form and compiled signatures are
cached per text and per class, and a mutation run imports the test modules (filling those
caches) before it turns a mutant on, so tests of the definition paths build fresh ones."""

from __future__ import annotations

import itertools
from typing import Any

from kaizen.signatures import Signature

_counter = itertools.count()


def unique(stem: str) -> str:
    """`stem` made unique within this test process (a valid field or class name)."""
    return f"{stem}_{next(_counter)}"


def define(annotations: dict[str, Any], **attrs: Any) -> type[Signature]:
    """A new Signature subclass with these annotations and attributes."""
    return type(unique("Sig"), (Signature,), {"__annotations__": annotations, **attrs})
