"""Ollama provider against REAL loopback sockets: a tiny stdlib HTTP server in a thread plays
the Ollama API, so the official client, httpx and the error mapping all run for real."""

from __future__ import annotations

import importlib
import json
import socket
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import SimpleNamespace
from typing import Any

import pytest

from kaizen.errors import (
    ModelNotFoundError,
    ProviderConnectionError,
    ProviderResponseError,
    ProviderTimeoutError,
)
from kaizen.providers import CompletionRequest
from tests.utils.lazy_import import lazy_import

# Loaded on first use: it pulls in the ollama client, httpx and pydantic (~0.25 s).
ollama_provider = lazy_import("kaizen.providers.ollama")


def make_provider(*args: Any, **kwargs: Any) -> Any:
    return ollama_provider.OllamaProvider(*args, **kwargs)


SHORT = 0.3  # provider timeout for the "never answers" server
HANG = 10.0  # upper bound a hanging handler waits before giving up on its own

GOOD = {
    "model": "gemma3:270m",
    "created_at": "2025-01-01T00:00:00Z",
    "response": '{"answer": "4"}',
    "done": True,
    "done_reason": "length",
    "prompt_eval_count": 11,
    "eval_count": 5,
}

Reply = tuple[int, Any]  # status, JSON body (a list of bodies = NDJSON stream)


@dataclass
class FakeOllama:
    """A real HTTP server on 127.0.0.1:<ephemeral>; `reply` decides each answer."""

    reply: Callable[[str, dict[str, Any]], Reply | None]
    requests: list[tuple[str, dict[str, Any]]] = field(default_factory=list)
    release: threading.Event = field(default_factory=threading.Event)

    def start(self) -> None:
        owner = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:  # keep pytest output clean
                pass

            def _answer(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = json.loads(self.rfile.read(length) or b"{}")
                owner.requests.append((self.path, body))
                reply = owner.reply(self.path, body)
                if reply is None:  # never answer: hold the socket until released
                    owner.release.wait(HANG)
                    return
                status, payload = reply
                if isinstance(payload, list):
                    data = b"".join(json.dumps(p).encode() + b"\n" for p in payload)
                    kind = "application/x-ndjson"
                else:
                    data, kind = json.dumps(payload).encode(), "application/json"
                self.send_response(status)
                self.send_header("Content-Type", kind)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            do_POST = do_GET = _answer

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, args=(0.01,), daemon=True)
        self.thread.start()

    @property
    def url(self) -> str:
        host, port = self.server.server_address[:2]
        return f"http://{host}:{port}"

    def stop(self) -> None:
        self.release.set()
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(timeout=HANG)


@pytest.fixture
def serve() -> Iterator[Callable[..., FakeOllama]]:
    servers: list[FakeOllama] = []

    def start(reply: Callable[[str, dict[str, Any]], Reply | None]) -> FakeOllama:
        server = FakeOllama(reply)
        server.start()
        servers.append(server)
        return server

    yield start
    for server in servers:
        server.stop()


@pytest.fixture
def closed_url() -> str:
    """A loopback port that was just bound and released: nothing listens there."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"http://127.0.0.1:{port}"


def request(**changes: Any) -> CompletionRequest:
    return CompletionRequest(**{"model": "gemma3:270m", "prompt": "2+2=", **changes})


def always(status: int, payload: Any) -> Callable[[str, dict[str, Any]], Reply]:
    return lambda path, body: (status, payload)


NOT_FOUND = always(404, {"error": 'model "x" not found, try pulling it first'})
SERVER_ERROR = always(500, {"error": "out of memory"})
STREAM = always(
    200,
    [
        {"model": "m", "response": "fo", "done": False},
        {"model": "m", "response": "", "done": False},
        {"model": "m", "response": "ur", "done": False},
        {"model": "m", "response": "", "done": True, "done_reason": "stop"},
    ],
)


def never(path: str, body: dict[str, Any]) -> None:
    return None


# --- configuration -------------------------------------------------------------------------


def test_base_url_from_env_and_default(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("KAIZEN_OLLAMA_URL", raising=False)
    assert make_provider().base_url == "http://127.0.0.1:11434"
    monkeypatch.setenv("KAIZEN_OLLAMA_URL", "http://127.0.0.1:9999/")
    assert make_provider().base_url == "http://127.0.0.1:9999"
    assert make_provider("http://h:1").base_url == "http://h:1"


# --- sync ----------------------------------------------------------------------------------


def test_complete_maps_fields_and_sends_the_request(serve: Any) -> None:
    server = serve(always(200, GOOD))
    schema = {"type": "object", "properties": {"answer": {"type": "string"}}}
    completion = make_provider(server.url, timeout=10).complete(
        request(
            system="be brief",
            format=schema,
            temperature=0.2,
            max_tokens=32,
            seed=7,
            stop=("\n\n", "END"),
        )
    )
    assert completion.text == '{"answer": "4"}'
    assert completion.model == "gemma3:270m"
    assert (completion.prompt_tokens, completion.completion_tokens) == (11, 5)
    assert completion.done_reason == "length"
    assert completion.duration_ms > 0
    path, body = server.requests[-1]
    assert path == "/api/generate"
    assert body["model"] == "gemma3:270m" and body["prompt"] == "2+2="
    assert body["system"] == "be brief" and body["format"] == schema
    assert body["stream"] is False
    assert body["options"] == {
        "temperature": 0.2,
        "num_predict": 32,
        "seed": 7,
        "stop": ["\n\n", "END"],
    }


def test_minimal_request_sends_no_optional_fields(serve: Any) -> None:
    server = serve(always(200, {"response": "x", "done": True}))
    completion = make_provider(server.url, timeout=10).complete(request(format="json"))
    _, body = server.requests[-1]
    assert "system" not in body and body["format"] == "json"
    assert body.get("options") in (None, {})
    # Missing usage fields default rather than crash; the model falls back to the request's.
    assert (completion.model, completion.prompt_tokens, completion.done_reason) == (
        "gemma3:270m",
        0,
        "stop",
    )


def test_closed_port_is_connection_error_naming_url(closed_url: str) -> None:
    with pytest.raises(ProviderConnectionError) as info:
        make_provider(closed_url, timeout=5).complete(request())
    assert info.value.url == closed_url and closed_url in str(info.value)
    assert info.value.provider == "ollama" and "KAIZEN_OLLAMA_URL" in str(info.value)


def test_unknown_model_is_model_not_found(serve: Any) -> None:
    server = serve(NOT_FOUND)
    with pytest.raises(ModelNotFoundError) as info:
        make_provider(server.url, timeout=10).complete(request(model="x"))
    assert "'x'" in str(info.value) and info.value.url == server.url


def test_server_error_is_response_error_with_status(serve: Any) -> None:
    server = serve(SERVER_ERROR)
    with pytest.raises(ProviderResponseError) as info:
        make_provider(server.url, timeout=10).complete(request())
    assert info.value.status == 500 and "out of memory" in str(info.value)
    assert not isinstance(info.value, ModelNotFoundError)


def test_404_without_not_found_message_is_response_error(serve: Any) -> None:
    server = serve(always(404, {"error": "no such route"}))
    with pytest.raises(ProviderResponseError) as info:
        make_provider(server.url, timeout=10).complete(request())
    assert info.value.status == 404 and not isinstance(info.value, ModelNotFoundError)


def test_silent_server_is_timeout(serve: Any) -> None:
    server = serve(never)
    with pytest.raises(ProviderTimeoutError) as info:
        make_provider(server.url, timeout=SHORT).complete(request())
    assert f"no answer within {SHORT:g}s" in str(info.value) and info.value.url == server.url


def test_request_timeout_overrides_provider_default(serve: Any) -> None:
    server = serve(never)
    with pytest.raises(ProviderTimeoutError) as info:
        make_provider(server.url, timeout=HANG * 3).complete(request(timeout=SHORT))
    assert f"{SHORT:g}s" in str(info.value)


def test_stream_yields_non_empty_chunks(serve: Any) -> None:
    server = serve(STREAM)
    assert list(make_provider(server.url, timeout=10).stream(request())) == [
        "fo",
        "ur",
    ]
    assert server.requests[-1][1]["stream"] is True


def test_stream_errors_are_typed(serve: Any, closed_url: str) -> None:
    with pytest.raises(ModelNotFoundError):
        list(make_provider(serve(NOT_FOUND).url, timeout=10).stream(request()))
    with pytest.raises(ProviderConnectionError):
        list(make_provider(closed_url, timeout=5).stream(request()))
    mid_stream = always(200, [{"response": "a", "done": False}, {"error": "model crashed"}])
    with pytest.raises(ProviderResponseError, match="model crashed"):
        list(make_provider(serve(mid_stream).url, timeout=10).stream(request()))


def test_garbage_body_is_response_error(serve: Any) -> None:
    server = serve(always(200, {"response": 12345, "done": "sometimes"}))
    with pytest.raises(ProviderResponseError, match="unusable response"):
        make_provider(server.url, timeout=10).complete(request())


def test_embed_and_list_models(serve: Any) -> None:
    def reply(path: str, body: dict[str, Any]) -> Reply:
        if path == "/api/embed":
            return 200, {"model": body["model"], "embeddings": [[0.5, 1.0]] * len(body["input"])}
        return 200, {"models": [{"model": "gemma3:270m"}, {"model": "all-minilm:l6-v2"}]}

    provider = make_provider(serve(reply).url, timeout=10)
    assert provider.embed(["a", "b"], "all-minilm:l6-v2") == [[0.5, 1.0], [0.5, 1.0]]
    assert provider.list_models() == ["gemma3:270m", "all-minilm:l6-v2"]


# --- async twins ---------------------------------------------------------------------------


async def test_acomplete_maps_fields(serve: Any) -> None:
    server = serve(always(200, GOOD))
    completion = await make_provider(server.url, timeout=10).acomplete(request(seed=3))
    assert (completion.text, completion.completion_tokens, completion.done_reason) == (
        '{"answer": "4"}',
        5,
        "length",
    )
    assert server.requests[-1][1]["options"] == {"seed": 3}


@pytest.mark.parametrize(
    ("reply", "error"),
    [
        (NOT_FOUND, ModelNotFoundError),
        (SERVER_ERROR, ProviderResponseError),
        (never, ProviderTimeoutError),
    ],
)
async def test_acomplete_errors(serve: Any, reply: Any, error: type[Exception]) -> None:
    server = serve(reply)
    with pytest.raises(error) as info:
        await make_provider(server.url, timeout=SHORT if reply is never else 10).acomplete(
            request()
        )
    assert info.value.url == server.url  # type: ignore[attr-defined]


async def test_acomplete_closed_port(closed_url: str) -> None:
    with pytest.raises(ProviderConnectionError, match=closed_url):
        await make_provider(closed_url, timeout=5).acomplete(request())


async def test_astream_and_aembed(serve: Any) -> None:
    provider = make_provider(serve(STREAM).url, timeout=10)
    assert [chunk async for chunk in provider.astream(request())] == ["fo", "ur"]
    embedder = make_provider(serve(always(200, {"embeddings": [[1.0]]})).url, timeout=10)
    assert await embedder.aembed(["a"], "e") == [[1.0]]


async def test_astream_errors_are_typed(serve: Any, closed_url: str) -> None:
    with pytest.raises(ModelNotFoundError):
        [c async for c in make_provider(serve(NOT_FOUND).url, timeout=10).astream(request())]
    with pytest.raises(ProviderConnectionError):
        [c async for c in make_provider(closed_url, timeout=5).astream(request())]


# --- the tool loop's chat path -------------------------------------------------------------

CHAT_CALL = {
    "model": "gemma3:270m",
    "message": {
        "role": "assistant",
        "content": "",
        "tool_calls": [{"function": {"name": "lookup", "arguments": {"key": "abc"}}}],
    },
    "done": True,
    "done_reason": "stop",
    "prompt_eval_count": 20,
    "eval_count": 4,
}
TOOLS = (
    {
        "type": "function",
        "function": {
            "name": "lookup",
            "description": "Look a key up.",
            "parameters": {
                "type": "object",
                "properties": {"key": {"type": "string"}},
                "required": ["key"],
            },
        },
    },
)
MESSAGES = ({"role": "system", "content": "be brief"}, {"role": "user", "content": "abc?"})


def test_a_request_with_messages_goes_to_chat_with_the_tools(serve: Any) -> None:
    from kaizen.providers import ToolCall

    server = serve(always(200, CHAT_CALL))
    provider = make_provider(server.url, timeout=10)
    assert provider.supports_tools is True
    completion = provider.complete(
        request(messages=MESSAGES, tools=TOOLS, system="be brief", seed=3, format="json")
    )
    assert completion.tool_calls == (ToolCall("lookup", {"key": "abc"}, ""),)
    assert (completion.text, completion.prompt_tokens, completion.completion_tokens) == ("", 20, 4)
    path, body = server.requests[-1]
    assert path == "/api/chat" and body["messages"] == list(MESSAGES)
    assert body["tools"] == list(TOOLS) and body["format"] == "json"
    assert "prompt" not in body and "system" not in body, "the transcript carries both"
    assert body["options"]["seed"] == 3


async def test_achat_maps_the_answer_and_errors(serve: Any) -> None:
    answer = {**CHAT_CALL, "message": {"role": "assistant", "content": '{"answer": "4"}'}}
    provider = make_provider(serve(always(200, answer)).url, timeout=10)
    completion = await provider.acomplete(request(messages=MESSAGES, tools=TOOLS))
    assert completion.text == '{"answer": "4"}' and completion.tool_calls == ()
    with pytest.raises(ModelNotFoundError):
        await make_provider(serve(NOT_FOUND).url, timeout=10).acomplete(request(messages=MESSAGES))


# --- what a reply leaves out, the clock, and the names in errors ---------------------------


def fixed_clock(monkeypatch: pytest.MonkeyPatch, *ticks: float) -> None:
    """The provider module's `time.perf_counter` reads these, in order: a duration is exact."""
    module = importlib.import_module("kaizen.providers.ollama")
    clock = iter(ticks)
    monkeypatch.setattr(module, "time", SimpleNamespace(perf_counter=lambda: next(clock)))


def test_chat_reply_fields_and_their_defaults(serve: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    bare = {"message": {"role": "assistant", "content": ""}, "done": True}
    served = {**CHAT_CALL, "model": "served:1b", "done_reason": "length"}
    provider = make_provider(
        serve(lambda p, b: (200, bare if b["options"]["seed"] else served)).url, 10
    )
    fixed_clock(monkeypatch, 10.0, 10.25, 20.0, 20.5)
    empty = provider.complete(request(messages=MESSAGES, seed=1))
    assert (empty.text, empty.model, empty.done_reason) == ("", "gemma3:270m", "stop")
    assert (empty.prompt_tokens, empty.completion_tokens, empty.tool_calls) == (0, 0, ())
    assert empty.duration_ms == 250.0
    full = provider.complete(request(messages=MESSAGES, seed=0))
    assert (full.model, full.done_reason, full.duration_ms) == ("served:1b", "length", 500.0)
    assert (full.prompt_tokens, full.completion_tokens) == (20, 4)


def test_generate_reply_defaults_and_duration(serve: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    server = serve(always(200, {"model": "served:1b", "response": "", "done": True}))
    fixed_clock(monkeypatch, 3.0, 3.125)
    completion = make_provider(server.url, timeout=10).complete(request())
    assert (completion.text, completion.model, completion.duration_ms) == ("", "served:1b", 125.0)
    assert (completion.prompt_tokens, completion.completion_tokens) == (0, 0)


def test_stream_error_names_the_model(serve: Any) -> None:
    with pytest.raises(ModelNotFoundError, match="'gemma3:270m' is not served"):
        list(make_provider(serve(NOT_FOUND).url, timeout=10).stream(request()))


async def test_astream_error_names_the_model(serve: Any) -> None:
    provider = make_provider(serve(NOT_FOUND).url, timeout=10)
    with pytest.raises(ModelNotFoundError, match="'gemma3:270m' is not served"):
        [c async for c in provider.astream(request())]


def test_stream_uses_the_request_timeout(serve: Any) -> None:
    provider = make_provider(serve(never).url, timeout=HANG * 3)
    with pytest.raises(ProviderTimeoutError, match=f"no answer within {SHORT:g}s"):
        list(provider.stream(request(timeout=SHORT)))


async def test_astream_uses_the_request_timeout(serve: Any) -> None:
    provider = make_provider(serve(never).url, timeout=HANG * 3)
    with pytest.raises(ProviderTimeoutError, match=f"no answer within {SHORT:g}s"):
        [c async for c in provider.astream(request(timeout=SHORT))]


def test_embed_sends_the_texts_and_names_a_missing_model(serve: Any) -> None:
    with pytest.raises(ModelNotFoundError, match="'all-minilm:l6-v2' is not served"):
        make_provider(serve(NOT_FOUND).url, timeout=10).embed(["a"], "all-minilm:l6-v2")


async def test_aembed_sends_the_texts(serve: Any) -> None:
    server = serve(always(200, {"embeddings": [[1.0], [2.0]]}))
    assert await make_provider(server.url, timeout=10).aembed(["a", "b"], "e") == [[1.0], [2.0]]
    assert server.requests[-1] == ("/api/embed", {"model": "e", "input": ["a", "b"]})


def test_a_listing_404_is_a_response_error_not_a_missing_model(serve: Any) -> None:
    """Go's "404 page not found" means the URL is not an Ollama server: no model to name."""
    server = serve(always(404, {"error": "404 page not found"}))
    with pytest.raises(ProviderResponseError, match="server answered 404") as info:
        make_provider(server.url, timeout=10).list_models()
    assert not isinstance(info.value, ModelNotFoundError) and info.value.status == 404


def test_default_timeout_and_shared_clients() -> None:
    """Clients are shared per (URL, timeout): building an httpx client costs milliseconds."""
    first, second = make_provider("http://127.0.0.1:9"), make_provider("http://127.0.0.1:9")
    assert first.timeout == 60.0
    assert first._client() is second._client() and first._client(1.5) is second._client(1.5)
    assert first._client(1.5) is not first._client()


async def test_async_clients_are_shared_in_a_loop() -> None:
    first, second = make_provider("http://127.0.0.1:9"), make_provider("http://127.0.0.1:9")
    assert first._aclient() is second._aclient() and first._aclient(2.0) is second._aclient(2.0)
    assert first._aclient(2.0) is not first._aclient()


def test_listing_and_embedding_keep_the_provider_timeout(serve: Any) -> None:
    provider = make_provider(serve(never).url, timeout=SHORT)
    with pytest.raises(ProviderTimeoutError, match=f"no answer within {SHORT:g}s"):
        provider.list_models()
    with pytest.raises(ProviderTimeoutError, match=f"no answer within {SHORT:g}s"):
        provider.embed(["a"], "e")


async def test_async_calls_keep_their_timeouts(serve: Any) -> None:
    server = serve(never)
    with pytest.raises(ProviderTimeoutError, match=f"no answer within {SHORT:g}s"):
        await make_provider(server.url, timeout=SHORT).aembed(["a"], "e")
    with pytest.raises(ProviderTimeoutError, match=f"no answer within {SHORT:g}s"):
        await make_provider(server.url, timeout=HANG * 3).acomplete(request(timeout=SHORT))


def test_every_typed_error_names_the_provider_and_url(serve: Any, closed_url: str) -> None:
    garbage = serve(always(200, {"response": 12345, "done": "sometimes"}))
    cases = [
        (serve(NOT_FOUND), ModelNotFoundError, 10),
        (serve(SERVER_ERROR), ProviderResponseError, 10),
        (serve(never), ProviderTimeoutError, SHORT),
        (garbage, ProviderResponseError, 10),
    ]
    for server, error, timeout in cases:
        with pytest.raises(error) as info:
            make_provider(server.url, timeout=timeout).complete(request())
        assert (info.value.provider, info.value.url) == ("ollama", server.url)
    with pytest.raises(ProviderResponseError, match=r"^unusable response: ValidationError: "):
        make_provider(garbage.url, timeout=10).complete(request())


def test_the_chat_path_names_the_model_and_keeps_the_request_timeout(serve: Any) -> None:
    with pytest.raises(ModelNotFoundError, match="'gemma3:270m' is not served"):
        make_provider(serve(NOT_FOUND).url, timeout=10).complete(request(messages=MESSAGES))
    provider = make_provider(serve(never).url, timeout=HANG * 3)
    with pytest.raises(ProviderTimeoutError, match=f"no answer within {SHORT:g}s"):
        provider.complete(request(messages=MESSAGES, timeout=SHORT))


async def test_async_replies_fall_back_to_the_request_model(serve: Any) -> None:
    bare_chat = {"message": {"role": "assistant", "content": "x"}, "done": True}
    chat = await make_provider(serve(always(200, bare_chat)).url, 10).acomplete(
        request(messages=MESSAGES)
    )
    generate = await make_provider(
        serve(always(200, {"response": "y", "done": True})).url, 10
    ).acomplete(request())
    assert (chat.model, generate.model) == ("gemma3:270m", "gemma3:270m")
    with pytest.raises(ModelNotFoundError, match="'e' is not served"):
        await make_provider(serve(NOT_FOUND).url, timeout=10).aembed(["a"], "e")


def test_only_slashes_are_stripped_from_the_url() -> None:
    assert make_provider("http://127.0.0.1:9/X/").base_url == "http://127.0.0.1:9/X"


def test_a_mapping_format_is_sent_as_a_plain_object(serve: Any) -> None:
    from types import MappingProxyType

    schema = {"type": "object", "properties": {"answer": {"type": "string"}}}
    server = serve(always(200, GOOD))
    make_provider(server.url, timeout=10).complete(request(format=MappingProxyType(schema)))
    assert server.requests[-1][1]["format"] == schema
