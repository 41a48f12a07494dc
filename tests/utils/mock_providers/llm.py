"""`MockLLMProvider`: the unit tier's one fake LLM.

It implements `kaizen.providers.Provider` for real, so an agent runs through its normal
path with it (prompt, request, parse, validate, retry, tool loop). It never invents an
answer it was not told to give:

- schema mode (default): a deterministic sample of the request's output JSON Schema (or of
  the signature it was built with), varied by `seed`;
- scripted mode: `script=[...]` answers in order (`ScriptExhausted` after the last), or
  `responses={prompt_substring_or_regex: answer}` (`UnmatchedPrompt` when nothing matches);
- function mode: `fn(messages, signature) -> answer`, where `messages` is the chat
  transcript (system, user, assistant tool calls, tool results) and `signature` the compiled
  signature (or the request's `format`). An `async def` fn serves async calls (`arun`,
  `astream`), so a test can make calls wait for each other.

An answer is a `str` (raw text), a JSON-able mapping/list (serialised), a `ToolCall` or a
list of them (a tool-calling turn), a `Completion`, an exception (raised), or a `Fault`.
Faults can also be injected with `inject()`. Every call is recorded in `.calls`.
"""

from __future__ import annotations

import hashlib
import inspect
import json
import math
import re
import threading
import time
from collections.abc import AsyncIterator, Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, replace
from typing import Any, Protocol, cast

from kaizen.errors import ProviderConnectionError, ProviderTimeoutError
from kaizen.providers.base import Completion, CompletionRequest, ToolCall
from tests.utils._schema_sample import sample_schema

from ._calls import CallLog, MockProviderError, Recorded, clip
from .faults import (
    Fault,
    MalformedJSONFault,
    MockRateLimitError,
    RateLimitFault,
    Scheduled,
    TimeoutFault,
    TruncatedStreamFault,
)

#: str | Mapping | list | ToolCall | list[ToolCall] | Completion | BaseException | Fault
Answer = Any
MessageFn = Callable[[list[dict[str, Any]], Any], Any]  # -> Answer, or an awaitable of one


class ScriptExhausted(MockProviderError, LookupError):
    """A scripted mock got more calls than it has answers."""

    def __init__(self, provider: str, script_length: int, prompt: str) -> None:
        self.script_length = script_length
        self.prompt = prompt
        super().__init__(
            f"{provider}: script exhausted: all {script_length} scripted answer(s) were used, "
            f"call {script_length + 1} had prompt {clip(prompt)!r}; add an answer to the script"
        )


class UnmatchedPrompt(MockProviderError, LookupError):
    """A prompt-map mock got a prompt none of its keys match."""

    def __init__(self, provider: str, prompt: str, keys: Sequence[str]) -> None:
        self.prompt = prompt
        self.keys = tuple(keys)
        super().__init__(
            f"{provider}: no scripted answer matches prompt {clip(prompt)!r}; "
            f"keys: {', '.join(map(repr, self.keys)) or '(none)'}"
        )


_CORRUPTING = (MalformedJSONFault, TruncatedStreamFault)


class _HasOutputSchema(Protocol):
    """What schema mode reads of a signature: a CompiledSignature, or a bare JSON Schema
    wrapped in `_SchemaOnly`."""

    @property
    def output_schema(self) -> Mapping[str, Any]: ...


@dataclass(slots=True)
class _Pending:
    """A call between choosing its answer and turning it into a Completion."""

    number: int
    started: float
    fault: Fault | None
    answer: Answer = None
    scripted: bool = False  # the fault is the scripted answer itself (nothing underneath)


class MockLLMProvider(Recorded):
    """A deterministic, signature-aware `kaizen.providers.Provider` for unit tests."""

    supports_tools = True
    """Scripted tool calls (`ToolCall` answers) drive an agent's tool loop."""

    def __init__(
        self,
        *,
        name: str = "mock",
        signature: Any = None,
        seed: int = 0,
        script: Sequence[Answer] | None = None,
        responses: Mapping[str | re.Pattern[str], Answer] | None = None,
        fn: MessageFn | None = None,
        include_optional: bool = False,
        chunk_size: int = 8,
        model: str | None = None,
        usage: tuple[int, int] | None = None,
        record_calls: bool = True,
    ) -> None:
        modes = [m for m, v in (("script", script), ("responses", responses), ("fn", fn)) if v]
        if len(modes) > 1:
            raise ValueError(f"give at most one of script/responses/fn, got {', '.join(modes)}")
        if chunk_size < 1:
            raise ValueError(f"chunk_size must be >= 1, got {chunk_size}")
        self.name = name
        """The provider name: `registered()` registers it as `provider: name`."""
        self.seed = seed
        """Varies schema-mode samples (with the request's seed and prompt)."""
        self.include_optional = include_optional
        """Schema mode: also sample optional outputs (default: required ones only)."""
        self.chunk_size = chunk_size
        """Characters per streamed chunk."""
        self.model = model
        """The model a Completion names (default: the request's)."""
        self.usage = usage
        """(prompt_tokens, completion_tokens) every answer reports (default: word counts)."""
        self.record_calls = record_calls
        """False keeps no call log, only `call_count`: for load tests and benchmarks, where
        the log would be the memory being measured."""
        self.url = f"mock://{name}"
        self.signature = _compile(signature) if signature is not None else None
        """The compiled signature (schema mode's source when a request has no schema)."""
        self._script = list(script) if script is not None else None
        self._responses = dict(responses) if responses is not None else None
        self._fn = fn
        self._faults: list[Scheduled] = []
        self._count = 0
        self._script_pos = 0
        self.factory_calls = 0
        """How many providers `factory` handed out (one per agent that used it)."""
        self._lock = threading.Lock()
        self.log = CallLog(name)

    def __repr__(self) -> str:
        mode = "script" if self._script is not None else "responses" if self._responses else None
        return f"MockLLMProvider({self.name!r}, mode={mode or ('fn' if self._fn else 'schema')})"

    # -- configuration ---------------------------------------------------------------------

    def inject(self, fault: Fault, *, times: int | None = 1, after_calls: int = 0) -> None:
        """Apply `fault` to the next `times` calls (None: every call) after `after_calls`."""
        if not isinstance(fault, Fault):
            raise TypeError(f"inject() needs a Fault, got {type(fault).__name__}")
        with self._lock:
            self._faults.append(Scheduled(fault, times, self._count + after_calls))

    def clear_faults(self) -> None:
        with self._lock:
            self._faults.clear()

    @property
    def script(self) -> list[Answer]:
        """The scripted answers not given yet; assigning starts a new script."""
        with self._lock:
            return list(self._script[self._script_pos :]) if self._script is not None else []

    @script.setter
    def script(self, answers: Sequence[Answer]) -> None:
        if self._responses is not None or self._fn is not None:
            raise ValueError(f"{self.name}: a script cannot replace responses/fn mode")
        with self._lock:
            self._script, self._script_pos = list(answers), 0

    @property
    def call_count(self) -> int:
        return self._count

    @property
    def requests(self) -> list[CompletionRequest]:
        """Every recorded request, in order."""
        return [c.args[0] for c in self.calls]

    @property
    def prompts(self) -> list[str]:
        return [r.prompt for r in self.requests]

    # -- registration ----------------------------------------------------------------------

    def factory(self, agent_config: Any) -> MockLLMProvider:
        """Provider factory for `register_provider`: every agent shares this instance."""
        with self._lock:
            self.factory_calls += 1
        return self

    @contextmanager
    def registered(self, name: str | None = None) -> Iterator[MockLLMProvider]:
        """Register as `provider: name` (default: `self.name`) for the block, then remove."""
        from kaizen.providers import register_provider, unregister_provider

        key = name or self.name
        register_provider(key, self.factory)
        try:
            yield self
        finally:
            unregister_provider(key)

    # -- choosing the answer ---------------------------------------------------------------

    def _next_call(self) -> tuple[int, Fault | None]:
        with self._lock:
            self._count += 1
            number = self._count
            for scheduled in self._faults:
                if number > scheduled.after_calls and scheduled.remaining != 0:
                    if scheduled.remaining is not None:
                        scheduled.remaining -= 1
                    return number, scheduled.fault
            return number, None

    def _schema_for(self, request: CompletionRequest) -> Mapping[str, Any] | str | None:
        if isinstance(request.format, Mapping):
            return request.format
        if self.signature is not None:
            return self.signature.output_schema
        return request.format

    def _generate(self, request: CompletionRequest) -> str:
        schema = self._schema_for(request)
        seed = hashlib.sha256(f"{self.seed}|{request.seed}|{request.prompt}".encode()).hexdigest()
        if isinstance(schema, Mapping):
            value = sample_schema(schema, seed=seed, include_optional=self.include_optional)
            return json.dumps(value)
        digest = hashlib.sha256(seed.encode()).hexdigest()[:12]
        if schema == "json":
            return json.dumps({"result": f"mock-{digest}"})
        return f"mock completion {digest}"

    def _answer(self, request: CompletionRequest) -> Answer:
        if self._script is not None:
            with self._lock:
                position = self._script_pos
                if position >= len(self._script):
                    raise ScriptExhausted(self.name, len(self._script), request.prompt)
                self._script_pos += 1
            return self._script[position]
        if self._responses is not None:
            return self._lookup(request.prompt)
        if self._fn is not None:
            signature = self.signature if self.signature is not None else request.format
            return self._fn(_messages(request), signature)
        return self._generate(request)

    def _lookup(self, prompt: str) -> Answer:
        assert self._responses is not None
        if prompt in self._responses:
            return self._responses[prompt]
        for key, answer in self._responses.items():
            if isinstance(key, re.Pattern):
                if key.search(prompt):
                    return answer
            elif key in prompt:
                return answer
        keys = [k.pattern if isinstance(k, re.Pattern) else k for k in self._responses]
        raise UnmatchedPrompt(self.name, prompt, keys)

    def _prepare(self, request: CompletionRequest) -> _Pending:
        if not isinstance(request, CompletionRequest):
            raise TypeError(f"expected a CompletionRequest, got {type(request).__name__}")
        number, fault = self._next_call()
        pending = _Pending(number, time.perf_counter(), fault)
        if fault is None or isinstance(fault, _CORRUPTING):  # raising faults answer nothing
            pending.answer = self._answer(request)
        return pending

    def _scripted_fault(self, pending: _Pending) -> None:
        if pending.fault is None and isinstance(pending.answer, Fault):
            pending.fault, pending.answer, pending.scripted = pending.answer, None, True

    # -- turning it into a Completion ------------------------------------------------------

    def _text(
        self, answer: Answer, request: CompletionRequest, started: float | None = None
    ) -> Completion:
        """The Completion for a plain answer; `started` times it (else duration 0)."""
        tool_calls: tuple[ToolCall, ...] = ()
        if type(answer) is str:  # the common case first: this is the benchmarks' hot path
            text = answer
        elif isinstance(answer, Completion):
            return answer
        elif isinstance(answer, BaseException):
            raise answer
        elif isinstance(answer, type) and issubclass(answer, BaseException):
            raise answer(f"{self.name}: scripted {answer.__name__}")
        elif isinstance(answer, ToolCall) or (
            isinstance(answer, list | tuple)
            and answer
            and all(isinstance(a, ToolCall) for a in answer)
        ):
            text, tool_calls = "", (answer,) if isinstance(answer, ToolCall) else tuple(answer)
        elif isinstance(answer, str):
            text = answer
        elif isinstance(answer, Mapping | list):
            text = json.dumps(answer)
        else:
            raise TypeError(
                f"{self.name}: answer must be str, mapping, list, ToolCall(s), Completion, "
                f"exception or Fault, got {type(answer).__name__}"
            )
        if self.usage is not None:
            prompt_tokens, completion_tokens = self.usage
        else:
            prompt_tokens = _tokens(request.prompt) + _tokens(request.system or "")
            completion_tokens = _tokens(text)
        duration = (time.perf_counter() - started) * 1000 if started is not None else 0.0
        return Completion(
            text,
            self.model or request.model,
            prompt_tokens,
            completion_tokens,
            "stop",
            duration,
            tool_calls,
        )

    def _settle(
        self, pending: _Pending, request: CompletionRequest, *, streaming: bool
    ) -> tuple[Completion, Fault | None]:
        self._scripted_fault(pending)
        fault = pending.fault
        if fault is None:
            if not isinstance(pending.answer, Completion):
                return self._text(pending.answer, request, pending.started), None
            completion = pending.answer
        else:
            completion = self._apply_fault(fault, pending, request, streaming=streaming)
        duration = (time.perf_counter() - pending.started) * 1000
        return replace(completion, duration_ms=duration), fault  # tool_calls kept

    def _apply_fault(
        self, fault: Fault, pending: _Pending, request: CompletionRequest, *, streaming: bool
    ) -> Completion:
        if isinstance(fault, TimeoutFault):
            raise ProviderTimeoutError(
                f"simulated timeout: no answer within {request.timeout or 0:g}s",
                provider=self.name,
                url=self.url,
            )
        if isinstance(fault, RateLimitFault):
            raise MockRateLimitError(
                f"simulated rate limit: retry after {fault.retry_after:g}s",
                provider=self.name,
                url=self.url,
                retry_after=fault.retry_after,
            )
        # Corrupting faults damage the answer the call would have given. A fault that is
        # itself the scripted answer has none underneath: the schema sample stands in.
        underlying = pending.answer
        if pending.scripted or isinstance(underlying, Fault):
            underlying = self._generate(request)
        good = self._text(underlying, request)
        if isinstance(fault, MalformedJSONFault):
            text = fault.text if fault.text is not None else _malformed(good.text)
            return Completion(text, good.model, good.prompt_tokens, _tokens(text), "stop")
        if isinstance(fault, TruncatedStreamFault):
            if streaming:
                return good  # the streaming caller truncates chunk-wise
            cut = good.text[: math.floor(len(good.text) * fault.keep)]
            return Completion(cut, good.model, good.prompt_tokens, _tokens(cut), "length")
        raise TypeError(f"unknown fault {fault!r}")  # pragma: no cover

    # -- recording -------------------------------------------------------------------------

    def _record(
        self,
        method: str,
        request: Any,
        result: Any = None,
        error: BaseException | None = None,
    ) -> None:
        if self.record_calls:
            self.log.record(method, (request,), result=result, error=error)

    def _sync(
        self, method: str, request: CompletionRequest, streaming: bool
    ) -> tuple[Completion, Fault | None]:
        try:
            pending = self._prepare(request)
            if type(pending.answer) is not str and inspect.isawaitable(pending.answer):
                _close(pending.answer)
                raise TypeError(
                    f"{self.name}: fn returned an awaitable on a sync call ({method}); an "
                    "async fn serves async calls only (arun, astream)"
                )
            return self._settle(pending, request, streaming=streaming)
        except BaseException as exc:
            self._record(method, request, error=exc)
            raise

    async def _async(
        self, method: str, request: CompletionRequest, streaming: bool
    ) -> tuple[Completion, Fault | None]:
        try:
            pending = self._prepare(request)
            if type(pending.answer) is not str and inspect.isawaitable(pending.answer):
                pending.answer = await pending.answer
            return self._settle(pending, request, streaming=streaming)
        except BaseException as exc:
            self._record(method, request, error=exc)
            raise

    # -- the Provider protocol -------------------------------------------------------------

    def complete(self, request: CompletionRequest) -> Completion:
        completion, _ = self._sync("complete", request, False)
        self._record("complete", request, completion)
        return completion

    async def acomplete(self, request: CompletionRequest) -> Completion:
        completion, _ = await self._async("acomplete", request, False)
        self._record("acomplete", request, completion)
        return completion

    def _chunks(self, text: str) -> list[str]:
        return [text[i : i + self.chunk_size] for i in range(0, len(text), self.chunk_size)]

    def _stream_plan(
        self, method: str, request: CompletionRequest, planned: tuple[Completion, Fault | None]
    ) -> tuple[list[str], BaseException | None]:
        completion, fault = planned
        chunks = self._chunks(completion.text)
        error = None
        if isinstance(fault, TruncatedStreamFault):
            chunks = chunks[: math.floor(len(chunks) * fault.keep)]
            error = ProviderConnectionError(
                f"simulated truncated stream: connection lost after {len(chunks)} chunk(s)",
                provider=self.name,
                url=self.url,
            )
        self._record(method, request, completion, error)
        return chunks, error

    def stream(self, request: CompletionRequest) -> Iterator[str]:
        chunks, error = self._stream_plan("stream", request, self._sync("stream", request, True))
        yield from chunks
        if error is not None:
            raise error

    async def astream(self, request: CompletionRequest) -> AsyncIterator[str]:
        planned = await self._async("astream", request, True)
        chunks, error = self._stream_plan("astream", request, planned)
        for chunk in chunks:
            yield chunk
        if error is not None:
            raise error


def _close(awaitable: Any) -> None:
    close = getattr(awaitable, "close", None)
    if close is not None:
        close()  # no "coroutine was never awaited" warning for a refused call


def _messages(request: CompletionRequest) -> list[dict[str, Any]]:
    """The chat transcript (tool loop), else the system and user turns of a plain call.
    The transcript's mappings are the request's own (read them, do not change them)."""
    if request.messages:
        # the request's own mappings, not copies (dicts in practice; fn must not change them)
        return list(request.messages)  # type: ignore[arg-type]
    messages: list[dict[str, Any]] = (
        [{"role": "system", "content": request.system}] if request.system else []
    )
    messages.append({"role": "user", "content": request.prompt})
    return messages


def _tokens(text: str) -> int:
    return len(text.split())


def _malformed(text: str) -> str:
    """Invalid JSON for sure: the answer cut short (or an unterminated object)."""
    cut = text[: max(1, len(text) // 2)]
    try:
        json.loads(cut)
    except ValueError:
        return cut
    return '{"' + cut


def _compile(signature: Any) -> _HasOutputSchema:
    """A CompiledSignature (or a bare JSON Schema wrapped to look like one)."""
    if hasattr(signature, "output_schema"):
        return cast(_HasOutputSchema, signature)  # duck-typed: taken as the compiled form
    if isinstance(signature, Mapping):
        return _SchemaOnly(signature)
    from kaizen.signatures import compile_signature

    return compile_signature(signature)


@dataclass(frozen=True, slots=True)
class _SchemaOnly:
    output_schema: Mapping[str, Any]
