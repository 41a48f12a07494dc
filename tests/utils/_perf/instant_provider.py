"""The benchmarks' "instant" provider: the unit tier's one fake LLM (`MockLLMProvider`) in
function mode, answering at once with a schema-valid JSON object.

It exists to measure the framework's own overhead (prompt, request, parse, validate) with
the model's time taken out, so it does as little as the mock allows: the answer for a
schema is sampled once (the toolkit's one JSON-Schema sampler, every property filled) and
reused, and no call log is kept. It lives in the test toolkit on purpose: Kaizen ships only
real providers.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from tests.utils.mock_providers import MockLLMProvider

PROVIDER_NAME = "instant"


def example_for(schema: Mapping[str, Any]) -> dict[str, Any]:
    """A value for every property of an object schema (required or not)."""
    from tests.utils._schema_sample import sample_schema

    value = sample_schema(schema, seed=0, include_optional=True)
    if not isinstance(value, dict):
        raise TypeError(f"the instant provider answers object schemas, got {schema!r}")
    return value


def instant_provider(name: str = PROVIDER_NAME) -> MockLLMProvider:
    """A MockLLMProvider that answers each request's schema with its cached sample."""
    from tests.utils.mock_providers import MockLLMProvider

    answers: dict[int, tuple[Mapping[str, Any], str]] = {}

    def answer(messages: list[dict[str, Any]], schema: Any) -> str:
        if not isinstance(schema, Mapping):
            return "{}"
        cached = answers.get(id(schema))
        if cached is None or cached[0] is not schema:
            cached = answers[id(schema)] = (schema, json.dumps(example_for(schema)))
        return cached[1]

    return MockLLMProvider(name=name, fn=answer, model=name, usage=(0, 0), record_calls=False)


def ensure_registered() -> str:
    """Register the instant provider with kaizen once per process; returns its name."""
    from kaizen.providers import available_providers, register_provider

    if PROVIDER_NAME not in available_providers():
        register_provider(PROVIDER_NAME, instant_provider().factory)
    return PROVIDER_NAME
