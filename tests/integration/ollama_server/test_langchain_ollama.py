"""LangChain's `ChatOllama` (langchain-ollama, on the native /api/chat) against the local
server: invoke, and bind_tools producing a schema-valid tool call. Structure, not content."""

from __future__ import annotations

from typing import Any

import jsonschema

from tests.benchmarks.measure_tool_calls import ASK, WEATHER_TOOL
from tests.utils.ollama_server import LLM_MODEL


def _chat(base_url: str, seed: int) -> Any:
    from langchain_ollama import ChatOllama  # the 'test' extra; imported late: collection

    return ChatOllama(
        model=LLM_MODEL, base_url=base_url, seed=seed, temperature=0.8, num_predict=32
    )


def test_invoke_returns_an_ai_message_with_usage(base_url: str) -> None:
    from langchain_core.messages import AIMessage

    reply = _chat(base_url, 1).invoke("Name a colour.")
    assert isinstance(reply, AIMessage) and isinstance(reply.content, str) and reply.content
    assert reply.response_metadata["model"] == LLM_MODEL
    assert reply.usage_metadata is not None and reply.usage_metadata["output_tokens"] > 0


def test_bind_tools_gives_schema_valid_tool_calls(base_url: str) -> None:
    schema = WEATHER_TOOL["function"]["parameters"]
    calls: list[dict[str, Any]] = []
    for seed in range(4):  # measured 19 of 20 seeds call; every call must validate
        reply = _chat(base_url, seed).bind_tools([WEATHER_TOOL]).invoke(ASK)
        for call in reply.tool_calls:
            assert call["name"] == "get_weather" and call["type"] == "tool_call"
            jsonschema.Draft202012Validator(schema).validate(call["args"])
            calls.append(call)
        if not reply.tool_calls:
            assert isinstance(reply.content, str) and reply.content
    assert calls, "no seed of four produced a tool call"
