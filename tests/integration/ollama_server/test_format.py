"""`format` is honoured: every constrained generation parses and validates (issue 4: >= 20)."""

from __future__ import annotations

import json
import re
from typing import Any

import jsonschema
import pytest

from tests.utils.lazy_import import lazy_import
from tests.utils.ollama_server import LLM_MODEL

ollama = lazy_import("ollama")  # on first use: collecting stays fast

TIMEOUT = 180.0

SCHEMAS: dict[str, dict[str, Any]] = {
    "qa": {
        "type": "object",
        "properties": {
            "answer": {"type": "string"},
            "confidence": {"type": "number", "minimum": 0, "maximum": 1},
        },
        "required": ["answer", "confidence"],
    },
    "person": {
        "type": "object",
        "properties": {
            "name": {"type": "string", "minLength": 1, "maxLength": 30},
            "age": {"type": "integer", "minimum": 0, "maximum": 120},
            "email": {"type": ["string", "null"], "maxLength": 40},
        },
        "required": ["name", "age", "email"],
        "additionalProperties": False,
    },
    "classification": {
        "type": "object",
        "properties": {
            "label": {"enum": ["positive", "negative", "neutral"]},
            "scores": {"type": "array", "items": {"type": "number"}, "minItems": 1, "maxItems": 3},
            "flagged": {"type": "boolean"},
        },
        "required": ["label", "scores", "flagged"],
    },
    "nested": {
        "$defs": {
            "Step": {
                "type": "object",
                "properties": {
                    "n": {"type": "integer", "minimum": 1, "maximum": 9},
                    "text": {"type": "string", "maxLength": 24},
                },
                "required": ["n", "text"],
            }
        },
        "type": "object",
        "properties": {
            "title": {"type": "string", "maxLength": 20},
            "steps": {"type": "array", "items": {"$ref": "#/$defs/Step"}, "maxItems": 3},
        },
        "required": ["title", "steps"],
    },
    "list": {"type": "array", "items": {"type": "string", "maxLength": 12}, "maxItems": 4},
}
PROMPTS = {
    "qa": "Question: What is the capital of France?\nAnswer as JSON:",
    "person": "Describe a fictional person as JSON:",
    "classification": "Classify the sentiment of 'I love this!' as JSON:",
    "nested": "A recipe for tea, as JSON steps:",
    "list": "Four animals as a JSON list:",
}
CASES = [(name, seed) for name in SCHEMAS for seed in (1, 2, 3, 4)]  # 20 generations


@pytest.fixture
def client(base_url: str) -> ollama.Client:
    return ollama.Client(host=base_url, timeout=TIMEOUT)


@pytest.mark.parametrize(("name", "seed"), CASES)
def test_every_constrained_generation_parses_and_validates(
    client: ollama.Client, name: str, seed: int
) -> None:
    schema = SCHEMAS[name]
    result = client.generate(
        model=LLM_MODEL,
        prompt=PROMPTS[name],
        format=schema,
        options={"seed": seed, "temperature": 1.0, "num_predict": 64},
    )
    value = json.loads(result.response)
    jsonschema.Draft202012Validator(schema).validate(value)
    outside_strings = re.sub(r'"[^"]*"', '""', result.response)
    assert not re.search(r"\s", outside_strings), result.response  # no free whitespace
    assert result.done_reason == "stop"


@pytest.mark.parametrize("seed", [5, 6])
def test_json_mode_streaming_and_chat(client: ollama.Client, seed: int) -> None:
    parts = list(
        client.generate(
            model=LLM_MODEL,
            prompt="A JSON object describing a cat:",
            format="json",
            stream=True,
            options={"seed": seed, "temperature": 1.0},
        )
    )
    assert isinstance(json.loads("".join(p.response or "" for p in parts)), dict)
    chat = client.chat(
        model=LLM_MODEL,
        messages=[{"role": "user", "content": "Give a JSON answer: what is 2+2?"}],
        format=SCHEMAS["qa"],
        options={"seed": seed, "num_predict": 48},
    )
    jsonschema.Draft202012Validator(SCHEMAS["qa"]).validate(json.loads(chat.message.content or ""))
