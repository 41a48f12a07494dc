"""OpenAI-compatible provider against REAL loopback sockets: a tiny stdlib HTTP server in a
thread plays `/v1/chat/completions` (JSON and SSE), so the official `openai` client, its
transport and our error mapping all run for real; nothing is mocked."""

from __future__ import annotations

import json
import os
import re
import socket
import subprocess
import sys
import threading
import time
import traceback
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from types import MappingProxyType
from typing import Any

import pytest

from kaizen.errors import (
    ConfigurationError,
    ModelNotFoundError,
    ProviderConnectionError,
    ProviderResponseError,
    ProviderTimeoutError,
)
from kaizen.providers import CompletionRequest, ToolCall
from tests.utils.lazy_import import lazy_import

# Loaded on first use: it pulls in the openai client, httpx2 and pydantic.
openai_provider = lazy_import("kaizen.providers.openai")

REPO = Path(__file__).resolve().parents[3]
SHORT = 0.3  # provider timeout for the "never answers" server
HANG = 10.0  # upper bound a hanging handler waits before giving up on its own
SECRET = "sk-test-Zq8v1LmX0secret"  # must never appear in anything we print
ENV_KEYS = ("KAIZEN_OPENAI_API_KEY", "OPENAI_API_KEY", "KAIZEN_OPENAI_BASE_URL", "OPENAI_BASE_URL")


def make_provider(*args: Any, **kwargs: Any) -> Any:
    return openai_provider.OpenAIProvider(*args, **kwargs)


def chat(
    content: str | None = '{"answer": "4"}', finish_reason: str = "length", **message: Any
) -> dict[str, Any]:
    """A /chat/completions answer in OpenAI's wire format."""
    return {
        "id": "chatcmpl-1",
        "object": "chat.completion",
        "created": 1,
        "model": "gemma3:270m",
        "choices": [
            {
                "index": 0,
                "message": {"role": "assistant", "content": content, **message},
                "finish_reason": finish_reason,
            }
        ],
        "usage": {"prompt_tokens": 11, "completion_tokens": 5, "total_tokens": 16},
    }


def chunk(delta: dict[str, Any], finish: str | None = None) -> dict[str, Any]:
    return {
        "id": "chatcmpl-1",
        "object": "chat.completion.chunk",
        "created": 1,
        "model": "m",
        "choices": [{"index": 0, "delta": delta, "finish_reason": finish}],
    }


@dataclass
class Sse:
    """An event stream: each item is one `data:` line (a dict as JSON, a str as is)."""

    events: list[Any]


Reply = tuple[int, Any]  # status, JSON body (or Sse, or raw bytes)


@dataclass
class FakeOpenAI:
    """A real HTTP server on 127.0.0.1:<ephemeral>; `reply` decides each answer."""

    reply: Callable[[str, dict[str, Any]], Reply | None]
    requests: list[tuple[str, dict[str, Any], dict[str, str]]] = field(default_factory=list)
    release: threading.Event = field(default_factory=threading.Event)

    def start(self) -> None:
        owner = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:  # keep pytest output clean
                pass

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = json.loads(self.rfile.read(length) or b"{}")
                headers = {k.lower(): v for k, v in self.headers.items()}
                owner.requests.append((self.path, body, headers))
                reply = owner.reply(self.path, body)
                if reply is None:  # never answer: hold the socket until released
                    owner.release.wait(HANG)
                    return
                status, payload = reply
                if isinstance(payload, Sse):
                    lines = [e if isinstance(e, str) else json.dumps(e) for e in payload.events]
                    data = b"".join(f"data: {line}\n\n".encode() for line in lines)
                    kind = "text/event-stream"
                elif isinstance(payload, bytes):
                    data, kind = payload, "application/json"
                else:
                    data, kind = json.dumps(payload).encode(), "application/json"
                self.send_response(status)
                self.send_header("Content-Type", kind)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, args=(0.01,), daemon=True)
        self.thread.start()

    @property
    def url(self) -> str:
        host, port = self.server.server_address[:2]
        return f"http://{host}:{port}/v1"

    @property
    def body(self) -> dict[str, Any]:
        return self.requests[-1][1]

    def stop(self) -> None:
        self.release.set()
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(timeout=HANG)


@pytest.fixture(autouse=True)
def no_ambient_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    """The developer's own OpenAI settings must not leak into (or out of) these tests."""
    for name in ENV_KEYS:
        monkeypatch.delenv(name, raising=False)


@pytest.fixture
def serve() -> Iterator[Callable[..., FakeOpenAI]]:
    servers: list[FakeOpenAI] = []

    def start(reply: Callable[[str, dict[str, Any]], Reply | None]) -> FakeOpenAI:
        server = FakeOpenAI(reply)
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
    return f"http://127.0.0.1:{port}/v1"


def request(**changes: Any) -> CompletionRequest:
    return CompletionRequest(**{"model": "gemma3:270m", "prompt": "2+2=", **changes})


def always(status: int, payload: Any) -> Callable[[str, dict[str, Any]], Reply]:
    return lambda path, body: (status, payload)


def never(path: str, body: dict[str, Any]) -> None:
    return None


OPENAI_NO_MODEL = always(
    404,
    {
        "error": {
            "message": "The model `x` does not exist or you do not have access to it.",
            "type": "invalid_request_error",
            "param": None,
            "code": "model_not_found",
        }
    },
)
OLLAMA_NO_MODEL = always(
    404, {"error": {"message": 'model "x" not found, try pulling it first', "type": "api_error"}}
)
SERVER_ERROR = always(500, {"error": {"message": "out of memory", "type": "server_error"}})
STREAM = always(
    200,
    Sse(
        [
            chunk({"role": "assistant", "content": ""}),
            chunk({"content": "fo"}),
            chunk({"content": "ur"}),
            chunk({}, finish="stop"),
            "[DONE]",
        ]
    ),
)


# --- configuration -------------------------------------------------------------------------


def test_base_url_from_argument_env_and_default(monkeypatch: pytest.MonkeyPatch) -> None:
    assert make_provider().base_url == "https://api.openai.com/v1"
    monkeypatch.setenv("OPENAI_BASE_URL", "http://127.0.0.1:8000/v1")
    assert make_provider().base_url == "http://127.0.0.1:8000/v1"
    monkeypatch.setenv("KAIZEN_OPENAI_BASE_URL", "http://127.0.0.1:9999/v1/")
    assert make_provider().base_url == "http://127.0.0.1:9999/v1", "ours wins, no trailing /"
    assert make_provider("http://127.0.0.1:1/v1").base_url == "http://127.0.0.1:1/v1"


@pytest.mark.parametrize(
    ("env", "sent"),
    [
        ({}, "unused"),
        ({"OPENAI_API_KEY": "k-openai"}, "k-openai"),
        ({"OPENAI_API_KEY": "k-openai", "KAIZEN_OPENAI_API_KEY": "k-kaizen"}, "k-kaizen"),
    ],
)
def test_api_key_from_env_or_placeholder(
    serve: Any, monkeypatch: pytest.MonkeyPatch, env: dict[str, str], sent: str
) -> None:
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    server = serve(always(200, chat()))
    make_provider(server.url, timeout=10).complete(request())
    assert server.requests[-1][2]["authorization"] == f"Bearer {sent}"


def test_agent_config_supplies_url_and_timeout() -> None:
    from kaizen.config import AgentConfig
    from kaizen.providers import get_provider

    provider = get_provider(
        AgentConfig(model="m", provider="openai", base_url="http://127.0.0.1:5/v1", timeout=7)
    )
    assert type(provider).__name__ == "OpenAIProvider" and provider.supports_tools is True
    assert (provider.base_url, provider.timeout) == ("http://127.0.0.1:5/v1", 7.0)


def test_repr_never_shows_the_key() -> None:
    provider = make_provider("http://127.0.0.1:1/v1", api_key=SECRET)
    assert SECRET not in repr(provider) and SECRET not in str(provider)


# --- request and answer mapping ------------------------------------------------------------


def test_complete_maps_fields_and_sends_the_request(serve: Any) -> None:
    server = serve(always(200, chat()))
    schema = {
        "title": "QA answer!",
        "type": "object",
        "properties": {"answer": {"type": "string"}},
        "required": ["answer"],
        "additionalProperties": False,
    }
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
    assert completion.text == '{"answer": "4"}' and completion.model == "gemma3:270m"
    assert (completion.prompt_tokens, completion.completion_tokens) == (11, 5)
    assert completion.done_reason == "length" and completion.tool_calls == ()
    assert completion.duration_ms > 0
    path, body, _ = server.requests[-1]
    assert path == "/v1/chat/completions"
    assert body["model"] == "gemma3:270m"
    assert body["messages"] == [
        {"role": "system", "content": "be brief"},
        {"role": "user", "content": "2+2="},
    ]
    assert (body["temperature"], body["max_tokens"], body["seed"]) == (0.2, 32, 7)
    assert body["stop"] == ["\n\n", "END"]
    assert body["response_format"] == {
        "type": "json_schema",
        "json_schema": {"name": "QA_answer_", "schema": schema, "strict": True},
    }
    assert "tools" not in body and not body.get("stream")


def test_minimal_request_sends_no_optional_fields(serve: Any) -> None:
    bare = {"choices": [{"index": 0, "message": {"role": "assistant", "content": "x"}}]}
    server = serve(always(200, bare))
    completion = make_provider(server.url, timeout=10).complete(request(format="json"))
    body = server.body
    assert body["messages"] == [{"role": "user", "content": "2+2="}]
    assert body["response_format"] == {"type": "json_object"}
    assert not {"temperature", "max_tokens", "seed", "stop", "tools"} & set(body)
    # Missing usage and finish reason default rather than crash; the model is the request's.
    assert (completion.text, completion.model, completion.prompt_tokens) == ("x", "gemma3:270m", 0)
    assert completion.done_reason == "stop"


def test_a_frozen_signature_schema_is_sent_as_plain_json(serve: Any) -> None:
    from kaizen.signatures import compile_signature

    compiled = compile_signature("question -> answer, confidence: float")
    server = serve(always(200, chat()))
    make_provider(server.url, timeout=10).complete(request(format=compiled.output_schema))
    sent = server.body["response_format"]["json_schema"]
    assert sent["name"] == "output" and sent["strict"] is True
    assert set(sent["schema"]["properties"]) == {"answer", "confidence"}
    frozen = MappingProxyType({"type": "object", "required": ("a",)})
    make_provider(server.url, timeout=10).complete(request(format=frozen))
    assert server.body["response_format"]["json_schema"]["schema"]["required"] == ["a"]


def test_an_unknown_format_string_is_a_configuration_error() -> None:
    with pytest.raises(ConfigurationError, match="format"):
        make_provider("http://127.0.0.1:1/v1").complete(request(format="xml"))


# --- the tool loop -------------------------------------------------------------------------

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
CALL = chat(
    None,
    tool_calls=[
        {
            "id": "call_7",
            "type": "function",
            "function": {"name": "lookup", "arguments": '{"key": "abc"}'},
        }
    ],
    finish_reason="tool_calls",
)


def test_tools_go_out_and_tool_calls_come_back(serve: Any) -> None:
    server = serve(always(200, CALL))
    # The loop's transcript, in the Ollama shape it keeps (arguments as an object, tool_name).
    transcript = (
        {"role": "system", "content": "be brief"},
        {"role": "user", "content": "abc?"},
        {
            "role": "assistant",
            "content": "",
            "tool_calls": [{"id": "call_1", "function": {"name": "lookup", "arguments": {"k": 1}}}],
        },
        {"role": "tool", "tool_name": "lookup", "content": "3", "tool_call_id": "call_1"},
    )
    completion = make_provider(server.url, timeout=10).complete(
        request(messages=transcript, tools=TOOLS, system="ignored: the transcript has it")
    )
    assert completion.tool_calls == (ToolCall("lookup", '{"key": "abc"}', "call_7"),)
    assert (completion.text, completion.done_reason) == ("", "tool_calls")
    body = server.body
    assert body["tools"] == list(TOOLS)
    assert body["messages"] == [
        {"role": "system", "content": "be brief"},
        {"role": "user", "content": "abc?"},
        {
            "role": "assistant",
            "content": "",
            "tool_calls": [
                {
                    "id": "call_1",
                    "type": "function",
                    "function": {"name": "lookup", "arguments": '{"k": 1}'},
                }
            ],
        },
        {"role": "tool", "content": "3", "tool_call_id": "call_1"},
    ]


def test_a_tool_agent_runs_its_loop_over_the_wire(serve: Any) -> None:
    """The agent's whole loop on this provider: the call, the tool's result going back with
    its call id, then the answer parsed by the signature."""
    from kaizen import Kaizen

    def reply(path: str, body: dict[str, Any]) -> Reply:
        answered = any(m["role"] == "tool" for m in body["messages"])
        return 200, (chat('{"answer": "3"}', finish_reason="stop") if answered else CALL)

    def lookup(key: str) -> int:
        """Look a key up.

        Args:
            key: The key to look up.
        """
        return len(key)

    server = serve(reply)
    config = {"model": "m", "provider": "openai", "base_url": server.url, "timeout": 10}
    result = Kaizen().create_agent("worker", config, tools=[lookup]).run(question="abc?")
    assert result.answer == "3"
    assert len(server.requests) == 2
    first, second = server.requests[0][1], server.requests[1][1]
    assert first["tools"][0]["function"]["name"] == "lookup"
    tool_turn = second["messages"][-1]
    assert tool_turn["role"] == "tool" and tool_turn["tool_call_id"] == "call_7"
    assert tool_turn["content"] == "3" and "tool_name" not in tool_turn
    assert second["messages"][-2]["tool_calls"][0]["function"]["arguments"] == '{"key": "abc"}'


async def test_acomplete_maps_tool_calls(serve: Any) -> None:
    completion = await make_provider(serve(always(200, CALL)).url, timeout=10).acomplete(
        request(messages=({"role": "user", "content": "abc?"},), tools=TOOLS, seed=3)
    )
    assert completion.tool_calls == (ToolCall("lookup", '{"key": "abc"}', "call_7"),)
    assert completion.prompt_tokens == 11


# --- streaming -----------------------------------------------------------------------------


def test_stream_yields_content_deltas(serve: Any) -> None:
    server = serve(STREAM)
    assert list(make_provider(server.url, timeout=10).stream(request())) == ["fo", "ur"]
    assert server.body["stream"] is True


async def test_astream_yields_content_deltas(serve: Any) -> None:
    server = serve(STREAM)
    assert [c async for c in make_provider(server.url, timeout=10).astream(request())] == [
        "fo",
        "ur",
    ]
    assert server.body["stream"] is True


def test_a_tool_call_in_a_stream_is_an_error_not_silence(serve: Any) -> None:
    delta = {"tool_calls": [{"index": 0, "id": "c", "function": {"name": "lookup"}}]}
    server = serve(always(200, Sse([chunk(delta), "[DONE]"])))
    with pytest.raises(ProviderResponseError, match="tool call in a stream"):
        list(make_provider(server.url, timeout=10).stream(request()))


def test_stream_errors_are_typed(serve: Any, closed_url: str) -> None:
    with pytest.raises(ModelNotFoundError):
        list(make_provider(serve(OPENAI_NO_MODEL).url, timeout=10).stream(request(model="x")))
    with pytest.raises(ProviderConnectionError):
        list(make_provider(closed_url, timeout=5).stream(request()))
    mid_stream = always(200, Sse([chunk({"content": "a"}), {"error": {"message": "crashed"}}]))
    with pytest.raises(ProviderResponseError, match="crashed"):
        list(make_provider(serve(mid_stream).url, timeout=10).stream(request()))


async def test_astream_errors_are_typed(serve: Any, closed_url: str) -> None:
    with pytest.raises(ModelNotFoundError):
        [c async for c in make_provider(serve(OLLAMA_NO_MODEL).url, timeout=10).astream(request())]
    with pytest.raises(ProviderConnectionError, match=re.escape(closed_url)):
        [c async for c in make_provider(closed_url, timeout=5).astream(request())]


# --- errors --------------------------------------------------------------------------------


def test_closed_port_is_connection_error_naming_url(closed_url: str) -> None:
    with pytest.raises(ProviderConnectionError) as info:
        make_provider(closed_url, timeout=5).complete(request())
    assert info.value.url == closed_url and closed_url in str(info.value)
    assert info.value.provider == "openai" and "KAIZEN_OPENAI_BASE_URL" in str(info.value)


@pytest.mark.parametrize("reply", [OPENAI_NO_MODEL, OLLAMA_NO_MODEL], ids=["openai", "ollama"])
def test_unknown_model_is_model_not_found(serve: Any, reply: Any) -> None:
    server = serve(reply)
    with pytest.raises(ModelNotFoundError) as info:
        make_provider(server.url, timeout=10).complete(request(model="x"))
    assert "'x'" in str(info.value) and info.value.url == server.url


def test_404_of_a_wrong_route_is_response_error_with_a_hint(serve: Any) -> None:
    server = serve(always(404, b"404 page not found"))
    with pytest.raises(ProviderResponseError) as info:
        make_provider(server.url, timeout=10).complete(request())
    assert info.value.status == 404 and not isinstance(info.value, ModelNotFoundError)
    assert "/v1" in str(info.value)


def test_server_error_is_response_error_with_status_and_no_retry(serve: Any) -> None:
    server = serve(SERVER_ERROR)
    with pytest.raises(ProviderResponseError) as info:
        make_provider(server.url, timeout=10).complete(request())
    assert info.value.status == 500 and "out of memory" in str(info.value)
    assert len(server.requests) == 1, "the client's own retries are off: the agent retries"


def test_rate_limit_is_not_retried_by_the_client(serve: Any) -> None:
    server = serve(always(429, {"error": {"message": "slow down"}}))
    with pytest.raises(ProviderResponseError) as info:
        make_provider(server.url, timeout=10).complete(request())
    assert info.value.status == 429 and len(server.requests) == 1


def _everything_printed(exc: BaseException) -> str:
    return str(exc) + repr(exc) + "".join(traceback.format_exception(exc))


def test_a_refused_key_says_so_and_never_prints_it(serve: Any) -> None:
    # The server echoes the key the way OpenAI's own 401 does (it shows part of it).
    echo = always(
        401,
        {"error": {"message": f"Incorrect API key provided: {SECRET}.", "code": "invalid_api_key"}},
    )
    server = serve(echo)
    with pytest.raises(ProviderResponseError) as info:
        make_provider(server.url, timeout=10, api_key=SECRET).complete(request())
    error = info.value
    assert error.status == 401 and "refused the API key" in str(error)
    assert "KAIZEN_OPENAI_API_KEY" in str(error) and error.url == server.url
    assert server.requests[-1][2]["authorization"] == f"Bearer {SECRET}", "the key was sent"
    printed = _everything_printed(error)
    assert SECRET not in printed and SECRET[-8:] not in printed


async def test_a_refused_key_is_never_printed_async_or_streaming(
    serve: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", SECRET)
    provider = make_provider(serve(always(401, {"error": {"message": SECRET}})).url, timeout=10)
    for call in (
        lambda: provider.acomplete(request()),
        lambda: _drain(provider.astream(request())),
    ):
        with pytest.raises(ProviderResponseError) as info:
            await call()
        assert info.value.status == 401 and "refused the API key" in str(info.value)
        assert SECRET not in _everything_printed(info.value)
    with pytest.raises(ProviderResponseError) as sync_info:
        list(provider.stream(request()))
    assert SECRET not in _everything_printed(sync_info.value)


async def _drain(chunks: Any) -> list[str]:
    return [c async for c in chunks]


def test_the_key_is_redacted_from_other_server_messages(serve: Any) -> None:
    server = serve(always(400, {"error": {"message": f"bad request from {SECRET}"}}))
    with pytest.raises(ProviderResponseError) as info:
        make_provider(server.url, timeout=10, api_key=SECRET).complete(request())
    assert info.value.status == 400 and "[redacted]" in str(info.value)
    assert SECRET not in str(info.value) and SECRET not in repr(info.value)


def test_silent_server_is_timeout_and_fails_fast(serve: Any) -> None:
    server = serve(never)
    started = time.perf_counter()
    with pytest.raises(ProviderTimeoutError) as info:
        make_provider(server.url, timeout=SHORT).complete(request())
    elapsed = time.perf_counter() - started
    assert f"no answer within {SHORT:g}s" in str(info.value) and info.value.url == server.url
    assert len(server.requests) == 1 and elapsed < SHORT + 2.0, "one attempt, no retry"


def test_request_timeout_overrides_provider_default(serve: Any) -> None:
    server = serve(never)
    with pytest.raises(ProviderTimeoutError) as info:
        make_provider(server.url, timeout=HANG * 3).complete(request(timeout=SHORT))
    assert f"{SHORT:g}s" in str(info.value)


@pytest.mark.parametrize(
    "payload", [b"not json at all", {"id": "x", "choices": []}], ids=["not-json", "no-choices"]
)
def test_unusable_body_is_response_error(serve: Any, payload: Any) -> None:
    server = serve(always(200, payload))
    with pytest.raises(ProviderResponseError, match="unusable response"):
        make_provider(server.url, timeout=10).complete(request())


@pytest.mark.parametrize(
    ("reply", "error"),
    [
        (OPENAI_NO_MODEL, ModelNotFoundError),
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


# --- lazy import ---------------------------------------------------------------------------


def run_python(code: str) -> dict[str, Any]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYTEST")}
    proc = subprocess.run(
        [sys.executable, "-c", code], cwd=REPO, env=env, capture_output=True, text=True, timeout=60
    )
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout.strip().splitlines()[-1])


def test_openai_is_imported_only_when_an_agent_uses_it() -> None:
    code = (
        "import json, sys\n"
        "import kaizen, kaizen.providers\n"
        "seen = {'import': 'openai' in sys.modules}\n"
        "k = kaizen.Kaizen()\n"
        "agent = k.create_agent('a', {'model': 'm', 'provider': 'openai',"
        " 'base_url': 'http://127.0.0.1:1/v1'})\n"
        "seen['create_agent'] = 'openai' in sys.modules\n"
        "agent.provider\n"
        "seen['first_use'] = 'openai' in sys.modules\n"
        "print(json.dumps(seen))"
    )
    assert run_python(code) == {"import": False, "create_agent": False, "first_use": True}


def test_a_missing_openai_package_says_how_to_install_it() -> None:
    code = (
        "import json, sys\n"
        "sys.modules['openai'] = None  # as if it were not installed\n"
        "from kaizen.config import AgentConfig\n"
        "from kaizen.errors import ConfigurationError\n"
        "from kaizen.providers import get_provider\n"
        "try:\n"
        "    get_provider(AgentConfig(model='m', provider='openai'))\n"
        "except ConfigurationError as exc:\n"
        "    print(json.dumps({'key': exc.key, 'message': str(exc)}))\n"
    )
    out = run_python(code)
    assert out["key"] == "provider" and "kaizen[openai]" in out["message"]
