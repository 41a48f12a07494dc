"""POST /v1/completions through the official `openai` SDK (structure, never content)."""

from __future__ import annotations

from typing import Any

import pytest

from tests.utils.lazy_import import lazy_import
from tests.utils.ollama_server import LLM_MODEL

openai = lazy_import("openai")  # on first use: collecting stays fast

PROMPT = "Once upon a time"


def test_a_completion_has_openais_fields(v1_client: Any) -> None:
    reply = v1_client.completions.create(model=LLM_MODEL, prompt=PROMPT, max_tokens=6, seed=3)
    assert reply.id.startswith("cmpl-") and reply.object == "text_completion"
    assert reply.system_fingerprint == "fp_ollama" and reply.model == LLM_MODEL
    (choice,) = reply.choices
    assert choice.index == 0 and choice.finish_reason == "length" and choice.text
    assert reply.usage.completion_tokens == 6
    assert reply.usage.total_tokens == reply.usage.prompt_tokens + 6


def test_a_stream_is_the_same_text_then_usage(v1_client: Any) -> None:
    whole = v1_client.completions.create(model=LLM_MODEL, prompt=PROMPT, max_tokens=8, seed=3)
    chunks = list(
        v1_client.completions.create(
            model=LLM_MODEL,
            prompt=PROMPT,
            max_tokens=8,
            seed=3,
            stream=True,
            stream_options={"include_usage": True},
        )
    )
    *texts, usage = chunks
    assert {c.id for c in chunks} == {chunks[0].id} and chunks[0].id.startswith("cmpl-")
    assert "".join(c.choices[0].text for c in texts) == whole.choices[0].text
    assert [c.choices[0].finish_reason for c in texts][-1] == "length"
    assert all(c.choices[0].finish_reason is None for c in texts[:-1])
    assert usage.choices == [] and usage.usage.completion_tokens == 8


def test_a_stop_string_and_the_ollama_400s(v1_client: Any) -> None:
    reply = v1_client.completions.create(
        model=LLM_MODEL, prompt="1, 2, 3,", max_tokens=16, seed=1, stop=[","]
    )
    assert "," not in reply.choices[0].text
    for extra in ({"suffix": "The end."}, {"echo": True}, {"n": 2}):
        with pytest.raises(openai.BadRequestError):
            v1_client.completions.create(model=LLM_MODEL, prompt=PROMPT, max_tokens=4, **extra)
