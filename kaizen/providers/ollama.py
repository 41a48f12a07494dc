"""The Ollama provider, on the official `ollama` client.

Imported only when an agent first uses `provider: ollama` (the client pulls in httpx and
pydantic). Clients are shared per (URL, timeout), and per event loop for the async client,
because building an httpx client costs milliseconds.
"""

from __future__ import annotations

import asyncio
import os
import time
import weakref
from collections.abc import AsyncIterator, Callable, Iterator
from typing import TYPE_CHECKING, Any, TypeVar

import httpx
import ollama

from kaizen.config import DEFAULT_OLLAMA_URL
from kaizen.errors import (
    ModelNotFoundError,
    ProviderConnectionError,
    ProviderError,
    ProviderResponseError,
    ProviderTimeoutError,
)
from kaizen.providers.base import Completion, CompletionRequest, ToolCall

if TYPE_CHECKING:
    from kaizen.config import AgentConfig

URL_ENV = "KAIZEN_OLLAMA_URL"
MODEL_ENV = "KAIZEN_OLLAMA_MODEL"
T = TypeVar("T")


def default_base_url() -> str:
    return os.environ.get(URL_ENV) or DEFAULT_OLLAMA_URL


_sync_clients: dict[tuple[str, float], ollama.Client] = {}
_async_clients: weakref.WeakKeyDictionary[
    asyncio.AbstractEventLoop, dict[tuple[str, float], ollama.AsyncClient]
] = weakref.WeakKeyDictionary()


class OllamaProvider:
    """Completion over Ollama's /api/generate, and /api/chat for the tool loop (a request
    with `messages`); a signature's schema goes in `format`."""

    name = "ollama"
    supports_tools = True

    def __init__(self, base_url: str | None = None, timeout: float = 60.0) -> None:
        self.base_url = (base_url or default_base_url()).rstrip("/")
        self.timeout = float(timeout)

    @classmethod
    def for_config(cls, config: AgentConfig) -> OllamaProvider:
        return cls(config.base_url, config.timeout)

    # -- clients ------------------------------------------------------------------------

    def _timeout(self, request: CompletionRequest | None = None) -> float:
        """A request's own timeout wins over the provider's default."""
        if request is None or request.timeout is None:
            return self.timeout
        return float(request.timeout)

    def _client(self, timeout: float | None = None) -> ollama.Client:
        key = (self.base_url, self.timeout if timeout is None else timeout)
        client = _sync_clients.get(key)
        if client is None:
            client = _sync_clients[key] = ollama.Client(host=self.base_url, timeout=key[1])
        return client

    def _aclient(self, timeout: float | None = None) -> ollama.AsyncClient:
        loop = asyncio.get_running_loop()
        per_loop = _async_clients.setdefault(loop, {})
        key = (self.base_url, self.timeout if timeout is None else timeout)
        client = per_loop.get(key)
        if client is None:
            client = per_loop[key] = ollama.AsyncClient(host=self.base_url, timeout=key[1])
        return client

    # -- request mapping ----------------------------------------------------------------

    def _kwargs(self, request: CompletionRequest) -> dict[str, Any]:
        options: dict[str, Any] = {}
        if request.temperature is not None:
            options["temperature"] = request.temperature
        if request.max_tokens is not None:
            options["num_predict"] = request.max_tokens
        if request.seed is not None:
            options["seed"] = request.seed
        if request.stop:
            options["stop"] = list(request.stop)
        kwargs: dict[str, Any] = {
            "model": request.model,
            "prompt": request.prompt,
            "options": options,
        }
        if request.system:
            kwargs["system"] = request.system
        if request.format is not None:
            kwargs["format"] = (
                request.format if isinstance(request.format, str) else dict(request.format)
            )
        return kwargs

    def _chat_kwargs(self, request: CompletionRequest) -> dict[str, Any]:
        """/api/chat: the transcript and tools; the options and format as for generate."""
        kwargs = self._kwargs(request)
        del kwargs["prompt"]
        kwargs.pop("system", None)  # the transcript carries the system message
        kwargs["messages"] = [dict(m) for m in request.messages]
        if request.tools:
            kwargs["tools"] = [dict(t) for t in request.tools]
        return kwargs

    def _chat_completion(
        self, request: CompletionRequest, response: Any, started: float
    ) -> Completion:
        message = response.message
        calls = tuple(
            ToolCall(
                name=call.function.name,
                arguments=dict(call.function.arguments or {}),
                id=getattr(call, "id", None) or "",
            )
            for call in (message.tool_calls or ())
        )
        return Completion(
            text=message.content or "",
            model=response.model or request.model,
            prompt_tokens=response.prompt_eval_count or 0,
            completion_tokens=response.eval_count or 0,
            done_reason=response.done_reason or "stop",
            duration_ms=(time.perf_counter() - started) * 1000,
            tool_calls=calls,
        )

    def _completion(self, request: CompletionRequest, response: Any, started: float) -> Completion:
        return Completion(
            text=response.response or "",
            model=response.model or request.model,
            prompt_tokens=response.prompt_eval_count or 0,
            completion_tokens=response.eval_count or 0,
            done_reason=response.done_reason or "stop",
            duration_ms=(time.perf_counter() - started) * 1000,
        )

    def _translate(
        self, exc: BaseException, model: str, timeout: float | None = None
    ) -> ProviderError:
        url = self.base_url
        if isinstance(exc, ollama.ResponseError):
            # a 404 names a model only on a request for one (a listing's 404 is a wrong URL)
            if exc.status_code == 404 and model and "not found" in str(exc.error).lower():
                return ModelNotFoundError(
                    f"model {model!r} is not served: {exc.error}", provider=self.name, url=url
                )
            return ProviderResponseError(
                f"server answered {exc.status_code}: {exc.error}",
                provider=self.name,
                url=url,
                status=exc.status_code,
            )
        if isinstance(exc, httpx.TimeoutException):
            return ProviderTimeoutError(
                f"no answer within {timeout or self.timeout:g}s", provider=self.name, url=url
            )
        if isinstance(exc, httpx.RemoteProtocolError | httpx.ReadError):
            return ProviderConnectionError(
                f"the Ollama server dropped the connection mid-request ({type(exc).__name__}: "
                f"{exc})",
                provider=self.name,
                url=url,
            )
        if isinstance(exc, ConnectionError | httpx.TransportError):
            return ProviderConnectionError(
                f"cannot reach the Ollama server ({type(exc).__name__}); is it running? "
                f"set {URL_ENV} or the agent's base_url",
                provider=self.name,
                url=url,
            )
        return ProviderResponseError(
            f"unusable response: {type(exc).__name__}: {exc}", provider=self.name, url=url
        )

    _ERRORS = (ollama.ResponseError, httpx.HTTPError, ConnectionError, ValueError)

    def _guard(self, call: Callable[[], T], model: str, timeout: float | None = None) -> T:
        try:
            return call()
        except self._ERRORS as exc:
            raise self._translate(exc, model, timeout) from exc

    # -- the protocol -------------------------------------------------------------------

    def complete(self, request: CompletionRequest) -> Completion:
        started = time.perf_counter()
        timeout = self._timeout(request)
        if request.messages:
            chat = self._guard(
                lambda: self._client(timeout).chat(**self._chat_kwargs(request)),
                request.model,
                timeout,
            )
            return self._chat_completion(request, chat, started)
        response = self._guard(
            lambda: self._client(timeout).generate(**self._kwargs(request)), request.model, timeout
        )
        return self._completion(request, response, started)

    async def acomplete(self, request: CompletionRequest) -> Completion:
        started = time.perf_counter()
        client = self._aclient(self._timeout(request))
        try:
            if request.messages:
                chat = await client.chat(**self._chat_kwargs(request))
                return self._chat_completion(request, chat, started)
            response = await client.generate(**self._kwargs(request))
        except self._ERRORS as exc:
            raise self._translate(exc, request.model, self._timeout(request)) from exc
        return self._completion(request, response, started)

    def stream(self, request: CompletionRequest) -> Iterator[str]:
        try:
            client = self._client(self._timeout(request))
            for part in client.generate(**self._kwargs(request), stream=True):
                if part.response:
                    yield part.response
        except self._ERRORS as exc:
            raise self._translate(exc, request.model, self._timeout(request)) from exc

    async def astream(self, request: CompletionRequest) -> AsyncIterator[str]:
        try:
            client = self._aclient(self._timeout(request))
            parts = await client.generate(**self._kwargs(request), stream=True)
            async for part in parts:
                if part.response:
                    yield part.response
        except self._ERRORS as exc:
            raise self._translate(exc, request.model, self._timeout(request)) from exc

    def embed(self, texts: list[str], model: str) -> list[list[float]]:
        """Embeddings from /api/embed (used by semantic memory)."""
        response = self._guard(lambda: self._client().embed(model=model, input=texts), model)
        return [list(vector) for vector in response.embeddings]

    async def aembed(self, texts: list[str], model: str) -> list[list[float]]:
        try:
            response = await self._aclient().embed(model=model, input=texts)
        except self._ERRORS as exc:
            raise self._translate(exc, model) from exc
        return [list(vector) for vector in response.embeddings]

    def list_models(self) -> list[str]:
        response = self._guard(lambda: self._client().list(), "")
        return [m.model for m in response.models if m.model]
