"""The OpenAI-compatible provider, on the official `openai` client.

For any server speaking OpenAI's `/v1/chat/completions`: OpenAI itself, vLLM, LM Studio,
llama.cpp's server, Ollama's `/v1`. Imported only when an agent first uses `provider:
openai` (the client pulls in httpx2 and pydantic); install it with `kaizen[openai]`.

Clients are shared per (URL, key, timeout), and per event loop for the async client,
because building one costs milliseconds. Their own retries are off: the agent retries, and
two retry layers would multiply the wait on a dead server.

The API key is never part of any message, repr or traceback we produce: a refused key
says so and names the variables to set, nothing more.
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import time
import weakref
from collections.abc import AsyncIterator, Iterator, Mapping
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

import openai

from kaizen.errors import (
    ConfigurationError,
    ModelNotFoundError,
    ProviderConnectionError,
    ProviderError,
    ProviderResponseError,
    ProviderTimeoutError,
)
from kaizen.providers.base import Completion, CompletionRequest, ToolCall

if TYPE_CHECKING:
    from kaizen.config import AgentConfig

URL_ENV = "KAIZEN_OPENAI_BASE_URL"
KEY_ENV = "KAIZEN_OPENAI_API_KEY"
DEFAULT_BASE_URL = "https://api.openai.com/v1"
PLACEHOLDER_KEY = "unused"
"""Sent when no key is set: local servers (Ollama's /v1, llama.cpp, vLLM without
--api-key) accept any key, and the client refuses to send none. A server that checks keys
answers 401, which names the variables to set."""


def default_base_url() -> str:
    """`KAIZEN_OPENAI_BASE_URL`, then the client's own `OPENAI_BASE_URL`, then OpenAI."""
    return os.environ.get(URL_ENV) or os.environ.get("OPENAI_BASE_URL") or DEFAULT_BASE_URL


def default_api_key() -> str:
    return os.environ.get(KEY_ENV) or os.environ.get("OPENAI_API_KEY") or PLACEHOLDER_KEY


_sync_clients: dict[tuple[str, str, float], openai.OpenAI] = {}
_async_clients: weakref.WeakKeyDictionary[
    asyncio.AbstractEventLoop, dict[tuple[str, str, float], openai.AsyncOpenAI]
] = weakref.WeakKeyDictionary()

_SCHEMA_NAME = re.compile(r"[^A-Za-z0-9_-]")
#: what reading a reply of the wrong shape raises (the client validates leniently)
_MALFORMED = (AttributeError, KeyError, TypeError, IndexError)


def response_format(fmt: Mapping[str, Any] | str) -> dict[str, Any]:
    """A signature's JSON Schema becomes a strict `json_schema` format (the server constrains
    decoding to it); "json" asks for any JSON object."""
    if isinstance(fmt, str):
        if fmt != "json":
            raise ConfigurationError(
                "format", f"must be a JSON Schema mapping or 'json', got {fmt!r}"
            )
        return {"type": "json_object"}
    name = _SCHEMA_NAME.sub("_", str(fmt.get("title") or "output"))[:64]
    return {
        "type": "json_schema",
        "json_schema": {"name": name, "schema": _plain(fmt), "strict": True},
    }


def _plain(value: Any) -> Any:
    """Frozen signature schemas (read-only mappings, tuples) as JSON-serialisable values."""
    if isinstance(value, Mapping):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    return value


def _wire_message(message: Mapping[str, Any]) -> dict[str, Any]:
    """The tool loop's transcript is in Ollama's shape; OpenAI wants `type: function`,
    arguments as a JSON string, and no `tool_name` on tool results."""
    out = dict(message)
    if out.get("role") == "tool":
        out.pop("tool_name", None)
    calls = out.get("tool_calls")
    if calls:
        wired = []
        for call in calls:
            function = dict(call.get("function") or {})
            arguments = function.get("arguments")
            if not isinstance(arguments, str):
                function["arguments"] = json.dumps({} if arguments is None else arguments)
            wired.append({"id": call.get("id") or "", "type": "function", "function": function})
        out["tool_calls"] = wired
    elif "tool_calls" in out:
        del out["tool_calls"]  # an empty list is a 400 on OpenAI
    return out


class OpenAIProvider:
    """Completion over `/chat/completions`; a plain request becomes [system?, user=prompt],
    a tool-loop request sends its transcript and tools."""

    name = "openai"
    supports_tools = True

    def __init__(
        self, base_url: str | None = None, timeout: float = 60.0, api_key: str | None = None
    ) -> None:
        self.base_url = (base_url or default_base_url()).rstrip("/")
        self.timeout = float(timeout)
        self._api_key = api_key or default_api_key()

    @classmethod
    def for_config(cls, config: AgentConfig) -> OpenAIProvider:
        return cls(config.base_url, config.timeout)

    def __repr__(self) -> str:  # no key, ever
        return f"OpenAIProvider(base_url={self.base_url!r}, timeout={self.timeout:g})"

    # -- clients ------------------------------------------------------------------------

    def _timeout(self, request: CompletionRequest | None = None) -> float:
        """A request's own timeout wins over the provider's default."""
        if request is None or request.timeout is None:
            return self.timeout
        return float(request.timeout)

    def _client(self, timeout: float) -> openai.OpenAI:
        key = (self.base_url, self._api_key, timeout)
        client = _sync_clients.get(key)
        if client is None:
            client = _sync_clients[key] = openai.OpenAI(
                api_key=self._api_key, base_url=self.base_url, timeout=timeout, max_retries=0
            )
        return client

    def _aclient(self, timeout: float) -> openai.AsyncOpenAI:
        per_loop = _async_clients.setdefault(asyncio.get_running_loop(), {})
        key = (self.base_url, self._api_key, timeout)
        client = per_loop.get(key)
        if client is None:
            client = per_loop[key] = openai.AsyncOpenAI(
                api_key=self._api_key, base_url=self.base_url, timeout=timeout, max_retries=0
            )
        return client

    # -- request mapping ----------------------------------------------------------------

    def _kwargs(self, request: CompletionRequest) -> dict[str, Any]:
        if request.messages:
            messages = [_wire_message(m) for m in request.messages]
        else:
            messages = [{"role": "user", "content": request.prompt}]
            if request.system:
                messages.insert(0, {"role": "system", "content": request.system})
        kwargs: dict[str, Any] = {"model": request.model, "messages": messages}
        if request.temperature is not None:
            kwargs["temperature"] = request.temperature
        if request.max_tokens is not None:
            kwargs["max_tokens"] = request.max_tokens
        if request.seed is not None:
            kwargs["seed"] = request.seed
        if request.stop:
            kwargs["stop"] = list(request.stop)
        if request.format is not None:
            kwargs["response_format"] = response_format(request.format)
        if request.tools:
            kwargs["tools"] = [_plain(t) for t in request.tools]
        return kwargs

    def _completion(self, request: CompletionRequest, response: Any, started: float) -> Completion:
        try:
            return self._read_completion(request, response, started)
        except _MALFORMED as exc:  # valid JSON of the wrong shape (`"message": null`, ...)
            raise self._malformed(exc) from exc

    def _malformed(self, exc: BaseException) -> ProviderResponseError:
        return ProviderResponseError(
            f"unusable response: {type(exc).__name__}: {self._redact(str(exc))}",
            provider=self.name,
            url=self.base_url,
        )

    def _read_completion(
        self, request: CompletionRequest, response: Any, started: float
    ) -> Completion:
        choices = getattr(response, "choices", None)
        if not choices:
            raise ProviderResponseError(
                "unusable response: no choices in the answer", provider=self.name, url=self.base_url
            )
        choice = choices[0]
        message = choice.message
        calls = tuple(
            ToolCall(name=call.function.name, arguments=call.function.arguments, id=call.id or "")
            for call in (getattr(message, "tool_calls", None) or ())
        )
        usage = getattr(response, "usage", None)
        return Completion(
            text=message.content or "",
            model=getattr(response, "model", None) or request.model,
            prompt_tokens=getattr(usage, "prompt_tokens", None) or 0,
            completion_tokens=getattr(usage, "completion_tokens", None) or 0,
            done_reason=choice.finish_reason or "stop",
            duration_ms=(time.perf_counter() - started) * 1000,
            tool_calls=calls,
        )

    def _deltas(self, chunk: Any) -> Iterator[str]:
        try:
            texts = list(self._read_deltas(chunk))
        except _MALFORMED as exc:
            raise self._malformed(exc) from exc
        yield from texts

    def _read_deltas(self, chunk: Any) -> Iterator[str]:
        for choice in getattr(chunk, "choices", None) or ():
            delta = choice.delta
            if delta is None:  # a closing chunk may carry only finish_reason
                continue
            if getattr(delta, "tool_calls", None):
                raise ProviderResponseError(
                    "the model asked for a tool call in a stream; stream() yields text only, "
                    "run tool agents with run()/arun()",
                    provider=self.name,
                    url=self.base_url,
                )
            if delta.content:
                yield delta.content

    # -- errors -------------------------------------------------------------------------

    def _redact(self, text: str) -> str:
        """The key out of any text that may quote it; the placeholder is no secret (and a
        common word, which a server message may well contain)."""
        key = self._api_key
        return text.replace(key, "[redacted]") if key and key != PLACEHOLDER_KEY else text

    @staticmethod
    def _server_message(exc: openai.APIError) -> str:
        body = exc.body
        if isinstance(body, Mapping):
            inner = body.get("error", body)
            if isinstance(inner, Mapping):
                return str(inner.get("message") or inner)
            return str(inner)
        return str(body) if body is not None else exc.message

    def _translate(self, exc: BaseException, model: str, timeout: float) -> ProviderError:
        url = self.base_url
        if isinstance(exc, openai.APITimeoutError):
            return ProviderTimeoutError(
                f"no answer within {timeout:g}s", provider=self.name, url=url
            )
        if isinstance(exc, openai.APIConnectionError):
            cause = type(exc.__cause__).__name__ if exc.__cause__ else type(exc).__name__
            return ProviderConnectionError(
                f"cannot reach the OpenAI-compatible server ({cause}); is it running? "
                f"set {URL_ENV} or the agent's base_url",
                provider=self.name,
                url=url,
            )
        if isinstance(exc, openai.AuthenticationError):
            return ProviderResponseError(
                f"the server refused the API key (401); set {KEY_ENV} or OPENAI_API_KEY "
                "to a key it accepts",
                provider=self.name,
                url=url,
                status=401,
            )
        if isinstance(exc, openai.APIStatusError):
            detail = self._redact(self._server_message(exc))
            lowered = detail.lower()
            code = exc.code if isinstance(exc.code, str) else ""
            if exc.status_code == 404 and (
                code == "model_not_found"
                or ("model" in lowered and ("not found" in lowered or "not exist" in lowered))
            ):
                return ModelNotFoundError(
                    f"model {model!r} is not served: {detail}", provider=self.name, url=url
                )
            hint = (
                " (is base_url the API root, usually ending in /v1?)"
                if exc.status_code == 404
                else ""
            )
            return ProviderResponseError(
                f"server answered {exc.status_code}: {detail}{hint}",
                provider=self.name,
                url=url,
                status=exc.status_code,
            )
        if isinstance(exc, openai.APIError):  # an error event in the middle of a stream
            return ProviderResponseError(
                f"server reported an error: {self._redact(self._server_message(exc))}",
                provider=self.name,
                url=url,
            )
        return ProviderResponseError(
            f"unusable response: {type(exc).__name__}: {self._redact(str(exc))}",
            provider=self.name,
            url=url,
        )

    @contextmanager
    def _typed_errors(self, model: str, timeout: float) -> Iterator[None]:
        """Client failures become typed errors. A refused key is raised `from None`: the
        client's exception holds the request (its Authorization header) and the server's
        text, which may echo the key, and a chained cause would print in every traceback."""
        try:
            yield
        except (openai.OpenAIError, ValueError) as exc:
            error = self._translate(exc, model, timeout)
            if isinstance(exc, openai.AuthenticationError):
                raise error from None
            raise error from exc

    # -- the protocol -------------------------------------------------------------------

    def complete(self, request: CompletionRequest) -> Completion:
        started = time.perf_counter()
        timeout = self._timeout(request)
        kwargs = self._kwargs(request)
        with self._typed_errors(request.model, timeout):
            response = self._client(timeout).chat.completions.create(**kwargs)
        return self._completion(request, response, started)

    async def acomplete(self, request: CompletionRequest) -> Completion:
        started = time.perf_counter()
        timeout = self._timeout(request)
        kwargs = self._kwargs(request)
        with self._typed_errors(request.model, timeout):
            response = await self._aclient(timeout).chat.completions.create(**kwargs)
        return self._completion(request, response, started)

    def stream(self, request: CompletionRequest) -> Iterator[str]:
        timeout = self._timeout(request)
        kwargs = self._kwargs(request)
        with self._typed_errors(request.model, timeout):
            chunks = self._client(timeout).chat.completions.create(**kwargs, stream=True)
            for chunk in chunks:
                yield from self._deltas(chunk)

    async def astream(self, request: CompletionRequest) -> AsyncIterator[str]:
        timeout = self._timeout(request)
        kwargs = self._kwargs(request)
        with self._typed_errors(request.model, timeout):
            chunks = await self._aclient(timeout).chat.completions.create(**kwargs, stream=True)
            async for chunk in chunks:
                for text in self._deltas(chunk):
                    yield text
