"""An in-process provider that answers instantly with a schema-valid JSON object.

It exists to measure the framework's own overhead (prompt, request, parse, validate) with
the model's time taken out. It lives in the test toolkit on purpose: Kaizen ships only
real providers.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Iterator, Mapping
from typing import Any

PROVIDER_NAME = "instant"


def _value_for(schema: Mapping[str, Any]) -> Any:
    if "enum" in schema:
        return schema["enum"][0]
    if "const" in schema:
        return schema["const"]
    kind = schema.get("type", "string")
    if isinstance(kind, list):
        kind = next((k for k in kind if k != "null"), "null")
    if kind == "string":
        return "x" * max(1, int(schema.get("minLength", 2)))
    if kind in ("number", "integer"):
        low = schema.get("minimum", schema.get("exclusiveMinimum", 0))
        high = schema.get("maximum", schema.get("exclusiveMaximum", low + 1))
        mid = (low + high) / 2
        return int(mid) if kind == "integer" else mid
    if kind == "boolean":
        return True
    if kind == "array":
        return [_value_for(schema.get("items", {}))] * int(schema.get("minItems", 0))
    if kind == "object":
        return example_for(schema)
    return None


def example_for(schema: Mapping[str, Any]) -> dict[str, Any]:
    """A value for every property of an object schema (required or not)."""
    return {k: _value_for(v) for k, v in schema.get("properties", {}).items()}


class InstantProvider:
    """Answers every request at once; the answer for a schema is computed once and reused."""

    name = PROVIDER_NAME

    def __init__(self) -> None:
        self._answers: dict[int, tuple[Any, str]] = {}
        self.calls = 0

    def _text(self, fmt: Any) -> str:
        if not isinstance(fmt, Mapping):
            return "{}"
        cached = self._answers.get(id(fmt))
        if cached is None or cached[0] is not fmt:
            cached = (fmt, json.dumps(example_for(fmt)))
            self._answers[id(fmt)] = cached
        return cached[1]

    def complete(self, request: Any) -> Any:
        from kaizen.providers import Completion

        self.calls += 1
        return Completion(text=self._text(request.format), model=request.model)

    async def acomplete(self, request: Any) -> Any:
        return self.complete(request)

    def stream(self, request: Any) -> Iterator[str]:
        yield self.complete(request).text

    async def astream(self, request: Any) -> AsyncIterator[str]:
        yield self.complete(request).text


def ensure_registered() -> str:
    """Register the instant provider with kaizen once per process; returns its name."""
    from kaizen.providers import register_provider
    from kaizen.providers.registry import available_providers

    if PROVIDER_NAME not in available_providers():
        register_provider(PROVIDER_NAME, lambda _config: InstantProvider())
    return PROVIDER_NAME
