"""LangChain's `ChatOllama` (langchain-ollama, on the native /api/chat) against the local
server: invoke, stream, batch, bind_tools and with_structured_output by each of its three
methods. Structure, not content: the model is a small base model."""

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


def test_stream_yields_chunks_that_add_up_to_one_message_with_usage(base_url: str) -> None:
    from langchain_core.messages import AIMessageChunk

    chunks = list(_chat(base_url, 2).stream("Name a colour."))
    assert len(chunks) > 1 and all(isinstance(c, AIMessageChunk) for c in chunks)
    whole = chunks[0]
    for chunk in chunks[1:]:
        whole = whole + chunk
    assert isinstance(whole.content, str) and whole.content
    assert whole.usage_metadata is not None and whole.usage_metadata["output_tokens"] > 0
    assert whole.response_metadata.get("done_reason") in {"stop", "length"}


def test_batch_answers_each_prompt_in_order(base_url: str) -> None:
    from langchain_core.messages import AIMessage

    prompts = ["Name a colour.", "Name a fruit.", "Name a city."]
    replies = _chat(base_url, 3).batch(prompts)
    assert len(replies) == len(prompts)
    for reply in replies:
        assert isinstance(reply, AIMessage) and isinstance(reply.content, str) and reply.content


def _city_model() -> Any:
    from pydantic import BaseModel, Field

    class City(BaseModel):
        """A city and the country it is in."""

        name: str = Field(min_length=1, max_length=24)
        country: str = Field(min_length=1, max_length=24)

    return City


def test_structured_output_json_schema_always_validates(base_url: str) -> None:
    """The default method: the schema goes to `format`, so the grammar makes every reply
    an instance (Ollama's own guarantee for `format` with a schema)."""
    city = _city_model()
    for seed in range(3):
        chat = _chat(base_url, seed).bind(num_predict=96)
        out = chat.with_structured_output(city, method="json_schema").invoke("A city in Peru.")
        assert isinstance(out, city)  # min_length 1: the grammar kept both non-empty


def test_structured_output_json_mode_is_a_json_object(base_url: str) -> None:
    """`format: "json"`: a JSON object is guaranteed (by the server, as by Ollama), the
    schema's keys are not: with include_raw the parser's verdict is there to read."""
    import json

    city = _city_model()
    chat = _chat(base_url, 4).bind(num_predict=96)
    out = chat.with_structured_output(city, method="json_mode", include_raw=True).invoke(
        "A city in Peru, as JSON with the keys name and country."
    )
    assert isinstance(json.loads(out["raw"].content), dict)
    if out["parsing_error"] is None:
        assert isinstance(out["parsed"], city)
    else:
        assert out["parsed"] is None


def test_structured_output_function_calling_parses_valid_tool_calls(base_url: str) -> None:
    """The schema as a tool: Ollama has no tool_choice, so a reply may be text (parsed is
    None); every call that is made validates, and most seeds make one."""
    city = _city_model()
    parsed = []
    for seed in range(4):
        chat = _chat(base_url, seed).bind(num_predict=96)
        structured = chat.with_structured_output(city, method="function_calling", include_raw=True)
        out = structured.invoke("Call City for a city in Peru.")
        assert out["parsing_error"] is None
        if out["raw"].tool_calls:
            assert isinstance(out["parsed"], city)
            parsed.append(out["parsed"])
        else:
            assert out["parsed"] is None and out["raw"].content
    assert parsed, "no seed of four called the City tool"
