"""Edges of the OpenAI-compatible provider: exact error texts (class, status, the server's
message, URL, provider name), reply fallbacks, exact durations, wire-format corners and the
shared clients; against the same real loopback fake server as test_openai_provider."""

# ruff: noqa: F811  (the fixtures imported from test_openai_provider are parameters here)

from __future__ import annotations

import importlib
import re
import threading
from collections.abc import Callable, Iterator
from types import SimpleNamespace
from typing import Any

import pytest

from kaizen.errors import (
    ConfigurationError,
    ModelNotFoundError,
    ProviderConnectionError,
    ProviderResponseError,
    ProviderTimeoutError,
)
from kaizen.providers import ToolCall
from tests.unit.core.test_openai_provider import (  # fixtures too: one fake server, one env reset
    HANG,
    SECRET,
    SHORT,
    STREAM,
    TOOLS,
    Reply,
    Sse,
    always,
    chat,
    chunk,
    closed_url,  # noqa: F401
    make_provider,
    no_ambient_settings,  # noqa: F401
    request,
    serve,  # noqa: F401
)


@pytest.fixture
def late() -> Iterator[Callable[[str, dict[str, Any]], Reply | None]]:
    """Answers only after a while: a short timeout fires first, a missing one never does."""
    gate = threading.Event()

    def reply(path: str, body: dict[str, Any]) -> Reply | None:
        if gate.wait(1.5):  # the test is over: the client has gone, write nothing
            return None
        return STREAM(path, body) if body.get("stream") else (200, chat())

    yield reply
    gate.set()


def fixed_clock(monkeypatch: pytest.MonkeyPatch, *ticks: float) -> None:
    """The provider module's `time.perf_counter` reads these, in order: a duration is exact."""
    module = importlib.import_module("kaizen.providers.openai")
    clock = iter(ticks)
    monkeypatch.setattr(module, "time", SimpleNamespace(perf_counter=lambda: next(clock)))


def where(url: str) -> str:
    return re.escape(f" (openai at {url})") + "$"


NOT_SERVED = "^" + re.escape("model 'x' is not served: no such thing")


def no_model(message: str, **error: Any) -> Callable[[str, dict[str, Any]], Reply]:
    return always(404, {"error": {"message": message, **error}})


# --- configuration and clients -------------------------------------------------------------


def test_defaults_and_only_trailing_slashes_are_stripped() -> None:
    assert make_provider().timeout == 60.0
    assert make_provider("http://127.0.0.1:1/proxy-X/").base_url == "http://127.0.0.1:1/proxy-X"


def test_sync_clients_are_shared_per_url_key_and_timeout() -> None:
    first = make_provider("http://127.0.0.1:9/v1", api_key="k")
    second = make_provider("http://127.0.0.1:9/v1", api_key="k")
    assert first._client(4.5) is second._client(4.5)
    assert first._client(4.5) is not first._client(5.5)


async def test_async_clients_are_shared_per_url_key_and_timeout() -> None:
    first = make_provider("http://127.0.0.1:9/v1", api_key="k")
    second = make_provider("http://127.0.0.1:9/v1", api_key="k")
    assert first._aclient(4.5) is second._aclient(4.5)
    assert first._aclient(4.5) is not first._aclient(5.5)


async def test_async_client_does_not_retry(serve: Any) -> None:
    """A server failing once then answering: a retrying client would succeed."""

    def flaky(path: str, body: dict[str, Any]) -> Reply:
        return (500, {"error": {"message": "busy"}}) if len(server.requests) == 1 else (200, chat())

    server = serve(flaky)
    with pytest.raises(ProviderResponseError, match="server answered 500: busy") as info:
        await make_provider(server.url, timeout=10).acomplete(request())
    assert info.value.status == 500 and len(server.requests) == 1


def test_unknown_format_error_names_the_key_and_value() -> None:
    with pytest.raises(ConfigurationError) as info:
        make_provider("http://127.0.0.1:1/v1").complete(request(format="xml"))
    assert info.value.key == "format"
    assert str(info.value) == "format: must be a JSON Schema mapping or 'json', got 'xml'"


def test_schema_name_is_cut_to_64_characters(serve: Any) -> None:
    server = serve(always(200, chat()))
    make_provider(server.url, timeout=10).complete(request(format={"title": "a" * 70}))
    assert server.body["response_format"]["json_schema"]["name"] == "a" * 64


# --- request and answer mapping ------------------------------------------------------------


def test_transcript_corners_on_the_wire(serve: Any) -> None:
    """A call without id or arguments, an empty call list, a tool result without tool_name."""
    server = serve(always(200, chat()))
    transcript = (
        {"role": "user", "content": "q"},
        {"role": "assistant", "content": "", "tool_calls": [{"function": {"name": "lookup"}}]},
        {"role": "tool", "content": "3"},
        {"role": "assistant", "content": "ok", "tool_calls": []},
    )
    make_provider(server.url, timeout=10).complete(request(messages=transcript, tools=TOOLS))
    assert server.body["messages"] == [
        {"role": "user", "content": "q"},
        {
            "role": "assistant",
            "content": "",
            "tool_calls": [
                {"id": "", "type": "function", "function": {"name": "lookup", "arguments": "{}"}}
            ],
        },
        {"role": "tool", "content": "3"},
        {"role": "assistant", "content": "ok"},
    ]


def test_served_model_usage_fallbacks_and_exact_duration(
    serve: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    bare = {"choices": [{"index": 0, "message": {"role": "assistant", "content": "x"}}]}
    served = {**chat(), "model": "served:1b"}
    provider = make_provider(serve(lambda p, b: (200, bare if b["seed"] else served)).url, 10)
    fixed_clock(monkeypatch, 10.0, 10.25, 20.0, 20.5)
    empty = provider.complete(request(seed=1))
    assert (empty.model, empty.prompt_tokens, empty.completion_tokens) == ("gemma3:270m", 0, 0)
    assert empty.duration_ms == 250.0
    full = provider.complete(request(seed=0))
    assert (full.model, full.prompt_tokens, full.completion_tokens) == ("served:1b", 11, 5)
    assert full.duration_ms == 500.0


def test_a_tool_call_without_id_gets_an_empty_one(serve: Any) -> None:
    call = {"type": "function", "function": {"name": "lookup", "arguments": "{}"}}
    server = serve(always(200, chat(None, tool_calls=[call], finish_reason="tool_calls")))
    completion = make_provider(server.url, timeout=10).complete(request(tools=TOOLS))
    assert completion.tool_calls == (ToolCall("lookup", "{}", ""),)


@pytest.mark.parametrize("payload", [b'"hello"', {"id": "x", "choices": []}], ids=["str", "none"])
def test_a_reply_without_choices_is_a_typed_error(serve: Any, payload: Any) -> None:
    server = serve(always(200, payload))
    with pytest.raises(ProviderResponseError) as info:
        make_provider(server.url, timeout=10).complete(request())
    assert re.fullmatch(
        "unusable response: no choices in the answer" + where(server.url), str(info.value)
    )
    assert (info.value.provider, info.value.url, info.value.status) == ("openai", server.url, None)


async def test_acomplete_falls_back_to_the_request_model(serve: Any) -> None:
    bare = {"choices": [{"index": 0, "message": {"role": "assistant", "content": "x"}}]}
    completion = await make_provider(serve(always(200, bare)).url, timeout=10).acomplete(request())
    assert (completion.text, completion.model) == ("x", "gemma3:270m")


# --- streaming -----------------------------------------------------------------------------


def test_a_non_object_stream_event_is_skipped(serve: Any) -> None:
    server = serve(always(200, Sse([chunk({"content": "a"}), "42", chunk({"content": "b"})])))
    assert list(make_provider(server.url, timeout=10).stream(request())) == ["a", "b"]


def test_a_tool_call_in_a_stream_names_where(serve: Any) -> None:
    delta = {"tool_calls": [{"index": 0, "id": "c", "function": {"name": "lookup"}}]}
    server = serve(always(200, Sse([chunk(delta), "[DONE]"])))
    with pytest.raises(ProviderResponseError) as info:
        list(make_provider(server.url, timeout=10).stream(request()))
    expected = (
        "the model asked for a tool call in a stream; stream() yields text only, "
        "run tool agents with run()/arun()"
    )
    assert str(info.value) == f"{expected} (openai at {server.url})"
    assert (info.value.provider, info.value.url) == ("openai", server.url)


def test_stream_uses_the_request_timeout(serve: Any, late: Any) -> None:
    server = serve(late)
    with pytest.raises(ProviderTimeoutError) as info:
        list(make_provider(server.url, timeout=HANG * 3).stream(request(timeout=SHORT)))
    assert re.fullmatch(
        re.escape(f"no answer within {SHORT:g}s") + where(server.url), str(info.value)
    )
    assert info.value.provider == "openai"


async def test_astream_uses_the_request_timeout(serve: Any, late: Any) -> None:
    server = serve(late)
    provider = make_provider(server.url, timeout=HANG * 3)
    with pytest.raises(ProviderTimeoutError, match=f"^no answer within {SHORT:g}s"):
        [c async for c in provider.astream(request(timeout=SHORT))]


async def test_acomplete_uses_the_request_timeout(serve: Any, late: Any) -> None:
    provider = make_provider(serve(late).url, timeout=HANG * 3)
    with pytest.raises(ProviderTimeoutError, match=f"^no answer within {SHORT:g}s"):
        await provider.acomplete(request(timeout=SHORT))


def test_stream_error_names_the_model(serve: Any) -> None:
    provider = make_provider(serve(no_model("no such thing", code="model_not_found")).url, 10)
    with pytest.raises(ModelNotFoundError, match=NOT_SERVED):
        list(provider.stream(request(model="x")))


async def test_async_errors_name_the_model(serve: Any) -> None:
    provider = make_provider(serve(no_model("no such thing", code="model_not_found")).url, 10)
    with pytest.raises(ModelNotFoundError, match=NOT_SERVED):
        [c async for c in provider.astream(request(model="x"))]
    with pytest.raises(ModelNotFoundError, match=NOT_SERVED):
        await provider.acomplete(request(model="x"))


@pytest.mark.parametrize(
    ("error", "text"),
    [({"message": "crashed"}, "crashed"), ("overloaded", "overloaded")],
    ids=["object", "string"],
)
def test_an_error_event_mid_stream_is_the_servers_message(
    serve: Any, error: Any, text: str
) -> None:
    server = serve(always(200, Sse([chunk({"content": "a"}), {"error": error}])))
    with pytest.raises(ProviderResponseError) as info:
        list(make_provider(server.url, timeout=10).stream(request()))
    assert str(info.value) == f"server reported an error: {text} (openai at {server.url})"
    assert (info.value.provider, info.value.url, info.value.status) == ("openai", server.url, None)


# --- errors --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("reply", "detail"),
    [
        (no_model("no such thing", code="model_not_found"), "no such thing"),
        (no_model("The model `x` does not exist"), "The model `x` does not exist"),
    ],
    ids=["by-code", "by-message"],
)
def test_model_not_found_names_the_model_and_the_server_text(
    serve: Any, reply: Any, detail: str
) -> None:
    server = serve(reply)
    with pytest.raises(ModelNotFoundError) as info:
        make_provider(server.url, timeout=10).complete(request(model="x"))
    assert str(info.value) == f"model 'x' is not served: {detail} (openai at {server.url})"
    assert (info.value.provider, info.value.url) == ("openai", server.url)


@pytest.mark.parametrize(
    ("status", "payload", "text"),
    [
        (
            404,
            {"error": {"message": "model router: no such route"}},
            "model router: no such route (is base_url the API root, usually ending in /v1?)",
        ),
        (500, {"error": {"message": "out of memory"}}, "out of memory"),
        (405, {"message": "not allowed"}, "not allowed"),
        (503, "overloaded", "overloaded"),
        (502, b"bad gateway", "bad gateway"),
        # The client unwraps one "error" level; a proxy re-wrapping an upstream error adds one.
        (500, {"error": {"error": {"message": "upstream down"}}}, "upstream down"),
    ],
    ids=["404-hint", "500", "405-flat", "json-string", "text", "wrapped-twice"],
)
def test_status_errors_carry_the_servers_message(
    serve: Any, status: int, payload: Any, text: str
) -> None:
    server = serve(always(status, payload))
    with pytest.raises(ProviderResponseError) as info:
        make_provider(server.url, timeout=10).complete(request())
    assert not isinstance(info.value, ModelNotFoundError)
    assert str(info.value) == f"server answered {status}: {text} (openai at {server.url})"
    assert (info.value.provider, info.value.url, info.value.status) == (
        "openai",
        server.url,
        status,
    )


def test_the_key_is_replaced_by_exactly_redacted(serve: Any) -> None:
    server = serve(always(400, {"error": {"message": f"bad request from {SECRET}"}}))
    with pytest.raises(ProviderResponseError) as info:
        make_provider(server.url, timeout=10, api_key=SECRET).complete(request())
    assert (
        str(info.value)
        == f"server answered 400: bad request from [redacted] (openai at {server.url})"
    )


def test_a_refused_key_names_where(serve: Any) -> None:
    server = serve(always(401, {"error": {"message": "no"}}))
    with pytest.raises(ProviderResponseError) as info:
        make_provider(server.url, timeout=10).complete(request())
    assert (info.value.provider, info.value.url, info.value.status) == ("openai", server.url, 401)


def test_connection_error_names_the_cause(closed_url: str) -> None:
    with pytest.raises(ProviderConnectionError) as info:
        make_provider(closed_url, timeout=5).complete(request())
    assert str(info.value) == (
        "cannot reach the OpenAI-compatible server (ConnectError); is it running? "
        f"set KAIZEN_OPENAI_BASE_URL or the agent's base_url (openai at {closed_url})"
    )


def test_client_errors_without_a_cause_or_a_body() -> None:
    """Raised by the client itself, not from a transport error or a response."""
    import httpx2
    import openai

    provider = make_provider("http://127.0.0.1:1/v1")
    req = httpx2.Request("POST", "http://127.0.0.1:1/v1/chat/completions")
    error = provider._translate(openai.APIConnectionError(request=req), "m", 1.0)
    assert "server (APIConnectionError); is it running?" in str(error)
    error = provider._translate(openai.APIError("stream broke", req, body=None), "m", 1.0)
    assert str(error) == "server reported an error: stream broke (openai at http://127.0.0.1:1/v1)"


def test_an_undecodable_body_names_the_decoder_error(serve: Any) -> None:
    server = serve(always(200, b"not json at all"))
    with pytest.raises(ProviderResponseError) as info:
        make_provider(server.url, timeout=10).complete(request())
    assert str(info.value) == (
        "unusable response: JSONDecodeError: Expecting value: line 1 column 1 (char 0)"
        f" (openai at {server.url})"
    )
    assert (info.value.provider, info.value.url, info.value.status) == ("openai", server.url, None)


@pytest.mark.parametrize(
    "reply",
    [
        {"choices": [{"index": 0, "message": None, "finish_reason": "stop"}]},
        {"choices": "abc"},
        {"choices": [{"index": 0, "message": "text", "finish_reason": "stop"}]},
    ],
    ids=["null-message", "string-choices", "string-message"],
)
def test_a_reply_of_the_wrong_shape_is_a_typed_error(serve: Any, reply: Any) -> None:
    """Valid JSON the client accepts leniently, but no completion: never a raw crash."""
    server = serve(always(200, {"id": "x", "object": "chat.completion", **reply}))
    with pytest.raises(ProviderResponseError, match=r"^unusable response: ") as info:
        make_provider(server.url, timeout=10).complete(request())
    assert (info.value.provider, info.value.url) == ("openai", server.url)


def test_a_closing_chunk_without_a_delta_is_skipped(serve: Any) -> None:
    closing = {
        "id": "c",
        "object": "chat.completion.chunk",
        "created": 1,
        "model": "m",
        "choices": [{"index": 0, "finish_reason": "stop"}],
    }
    server = serve(always(200, Sse([chunk({"content": "a"}), closing])))
    assert list(make_provider(server.url, timeout=10).stream(request())) == ["a"]


def test_a_stream_chunk_of_the_wrong_shape_is_a_typed_error(serve: Any) -> None:
    bad = {
        "id": "c",
        "object": "chat.completion.chunk",
        "created": 1,
        "model": "m",
        "choices": [{"index": 0, "delta": "text", "finish_reason": None}],
    }
    server = serve(always(200, Sse([chunk({"content": "a"}), bad])))
    with pytest.raises(ProviderResponseError, match=r"^unusable response: "):
        list(make_provider(server.url, timeout=10).stream(request()))


def test_the_placeholder_key_is_not_redacted(serve: Any) -> None:
    """With no key set the client sends the placeholder `unused`, a common word: a server
    message quoting it is kept as written (a real key is still redacted, above)."""
    server = serve(always(400, {"error": {"message": "field 'logprobs' is unused"}}))
    with pytest.raises(ProviderResponseError) as info:
        make_provider(server.url, timeout=10).complete(request())
    assert str(info.value).startswith("server answered 400: field 'logprobs' is unused")


def test_a_malformed_reply_names_what_was_missing(serve: Any) -> None:
    reply = {"id": "x", "object": "chat.completion",
             "choices": [{"index": 0, "message": None, "finish_reason": "stop"}]}  # fmt: skip
    server = serve(always(200, reply))
    with pytest.raises(ProviderResponseError) as info:
        make_provider(server.url, timeout=10).complete(request())
    prefix = "unusable response: AttributeError: 'NoneType' object has no attribute 'content'"
    assert re.fullmatch(re.escape(prefix) + where(server.url), str(info.value))
    assert isinstance(info.value.__cause__, AttributeError)


def test_a_malformed_stream_chunk_names_what_was_missing(serve: Any) -> None:
    bad = {"id": "c", "object": "chat.completion.chunk", "created": 1, "model": "m",
           "choices": [{"index": 0, "delta": "text", "finish_reason": None}]}  # fmt: skip
    server = serve(always(200, Sse([bad])))
    with pytest.raises(ProviderResponseError) as info:
        list(make_provider(server.url, timeout=10).stream(request()))
    prefix = "unusable response: AttributeError: 'str' object has no attribute 'content'"
    assert re.fullmatch(re.escape(prefix) + where(server.url), str(info.value))


def test_a_choice_without_a_delta_does_not_hide_the_next_choice(serve: Any) -> None:
    two = {"id": "c", "object": "chat.completion.chunk", "created": 1, "model": "m",
           "choices": [{"index": 0, "finish_reason": "stop"},
                       {"index": 1, "delta": {"content": "b"}, "finish_reason": None}]}  # fmt: skip
    server = serve(always(200, Sse([two])))
    assert list(make_provider(server.url, timeout=10).stream(request())) == ["b"]
