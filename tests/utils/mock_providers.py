"""Test doubles for the UNIT tier only (the tier plugin rejects them in integration/e2e).

`MockLLMProvider` implements `kaizen.providers.Provider` for real, so an agent runs through
its normal workflow path with it. It never invents an answer it was not told to give:

- schema mode (default): a deterministic sample of the request's output JSON Schema (or of
  the signature it was built with), varied by `seed`;
- scripted mode: `script=[...]` answers in order (`ScriptExhausted` after the last), or
  `responses={prompt_substring_or_regex: answer}` (`UnmatchedPrompt` when nothing matches);
- function mode: `fn(messages, signature) -> answer`.

An answer is a `str` (raw text), a JSON-able mapping/list (serialised), a `Completion`, an
exception (raised), or a `Fault`. Faults (`TimeoutFault`, `RateLimitFault`,
`MalformedJSONFault`, `TruncatedStreamFault`) can also be injected with `inject()`.
Every call is recorded in `.calls`, like the other mocks here (memory, database,
signature compiler, audit logger), which share `CallLog`.
"""

from __future__ import annotations

import copy
import hashlib
import json
import math
import re
import sqlite3
import threading
import time
from collections.abc import AsyncIterator, Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from typing import Any

from kaizen.errors import (
    KaizenError,
    ProviderConnectionError,
    ProviderResponseError,
    ProviderTimeoutError,
)
from kaizen.providers.base import Completion, CompletionRequest
from tests.utils._schema_sample import UnsupportedSchemaError, sample_schema

__all__ = [
    "Call",
    "CallLog",
    "Fault",
    "MalformedJSONFault",
    "MockAuditLogger",
    "MockDatabaseProvider",
    "MockLLMProvider",
    "MockMemoryProvider",
    "MockProviderError",
    "MockRateLimitError",
    "MockSignatureCompiler",
    "RateLimitFault",
    "ScriptExhausted",
    "TimeoutFault",
    "TruncatedStreamFault",
    "UnmatchedPrompt",
    "UnsupportedSchemaError",
]


# --- errors -------------------------------------------------------------------------------


class MockProviderError(KaizenError):
    """A mock was asked for something it was not told to answer (a test-setup bug)."""


class ScriptExhausted(MockProviderError, LookupError):
    """A scripted mock got more calls than it has answers."""

    def __init__(self, provider: str, script_length: int, prompt: str) -> None:
        self.script_length = script_length
        self.prompt = prompt
        super().__init__(
            f"{provider}: script exhausted: all {script_length} scripted answer(s) were used, "
            f"call {script_length + 1} had prompt {_clip(prompt)!r}; add an answer to the script"
        )


class UnmatchedPrompt(MockProviderError, LookupError):
    """A prompt-map mock got a prompt none of its keys match."""

    def __init__(self, provider: str, prompt: str, keys: Sequence[str]) -> None:
        self.prompt = prompt
        self.keys = tuple(keys)
        super().__init__(
            f"{provider}: no scripted answer matches prompt {_clip(prompt)!r}; "
            f"keys: {', '.join(map(repr, self.keys)) or '(none)'}"
        )


class MockRateLimitError(ProviderResponseError):
    """HTTP 429 from the mock, with the `retry_after` seconds a server would send."""

    def __init__(self, message: str, *, provider: str, url: str, retry_after: float) -> None:
        self.retry_after = retry_after
        super().__init__(message, provider=provider, url=url, status=429)


def _clip(text: str, limit: int = 120) -> str:
    return text if len(text) <= limit else text[: limit - 3] + "..."


# --- the shared call log ------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Call:
    """One recorded call: which method, with what, and what came back (or was raised)."""

    target: str
    method: str
    args: tuple[Any, ...]
    kwargs: Mapping[str, Any]
    result: Any = None
    error: BaseException | None = None
    at: float = 0.0

    @property
    def ok(self) -> bool:
        return self.error is None


class CallLog:
    """Thread-safe record of calls, shared by every mock here so assertions read the same."""

    def __init__(self, target: str) -> None:
        self._target = target
        self._calls: list[Call] = []
        self._lock = threading.Lock()

    def record(
        self,
        method: str,
        args: tuple[Any, ...] = (),
        kwargs: Mapping[str, Any] | None = None,
        *,
        result: Any = None,
        error: BaseException | None = None,
    ) -> Call:
        call = Call(self._target, method, args, dict(kwargs or {}), result, error, time.time())
        with self._lock:
            self._calls.append(call)
        return call

    @property
    def calls(self) -> list[Call]:
        with self._lock:
            return list(self._calls)

    def calls_to(self, method: str) -> list[Call]:
        return [c for c in self.calls if c.method == method]

    def assert_called(self, method: str, times: int | None = None) -> list[Call]:
        """Fail with the recorded methods when `method` was not called (`times` times)."""
        matching = self.calls_to(method)
        if (times is None and not matching) or (times is not None and len(matching) != times):
            wanted = "at least once" if times is None else f"{times} time(s)"
            seen = ", ".join(c.method for c in self.calls) or "nothing"
            raise AssertionError(
                f"{self._target}.{method} expected {wanted}, called {len(matching)} time(s); "
                f"calls: {seen}"
            )
        return matching

    def reset(self) -> None:
        with self._lock:
            self._calls.clear()

    def __len__(self) -> int:
        with self._lock:
            return len(self._calls)


class _Recorded:
    """Mixin: `.calls`, `.calls_to()`, `.assert_called()`, `.reset_calls()`."""

    log: CallLog

    @property
    def calls(self) -> list[Call]:
        return self.log.calls

    def calls_to(self, method: str) -> list[Call]:
        return self.log.calls_to(method)

    def assert_called(self, method: str, times: int | None = None) -> list[Call]:
        return self.log.assert_called(method, times)

    def reset_calls(self) -> None:
        self.log.reset()


# --- faults -------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Fault:
    """Base of the faults a mock LLM can produce instead of a normal answer."""


@dataclass(frozen=True, slots=True)
class TimeoutFault(Fault):
    """Raise `ProviderTimeoutError` at once, as the real provider does after its timeout."""


@dataclass(frozen=True, slots=True)
class RateLimitFault(Fault):
    """Raise `MockRateLimitError` (status 429) carrying `retry_after` seconds."""

    retry_after: float = 1.0


@dataclass(frozen=True, slots=True)
class MalformedJSONFault(Fault):
    """Answer with text that is not valid JSON (default: the real answer cut in half)."""

    text: str | None = None


@dataclass(frozen=True, slots=True)
class TruncatedStreamFault(Fault):
    """Stream `keep` of the chunks, then raise `ProviderConnectionError` (lost connection).
    On a non-streaming call it answers with the truncated text instead."""

    keep: float = 0.5


@dataclass
class _Scheduled:
    fault: Fault
    remaining: int | None
    after_calls: int


Answer = Any  # str | Mapping | list | Completion | BaseException | Fault
MessageFn = Callable[[list[dict[str, str]], Any], Answer]


# --- the mock LLM -------------------------------------------------------------------------


class MockLLMProvider(_Recorded):
    """A deterministic, signature-aware `kaizen.providers.Provider` for unit tests."""

    #: Scripted `Completion(tool_calls=...)` answers drive an agent's tool loop.
    supports_tools = True

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
    ) -> None:
        modes = [m for m, v in (("script", script), ("responses", responses), ("fn", fn)) if v]
        if len(modes) > 1:
            raise ValueError(f"give at most one of script/responses/fn, got {', '.join(modes)}")
        if chunk_size < 1:
            raise ValueError(f"chunk_size must be >= 1, got {chunk_size}")
        self.name = name
        self.seed = seed
        self.include_optional = include_optional
        self.chunk_size = chunk_size
        self.model = model
        self.url = f"mock://{name}"
        self.signature = _compile(signature) if signature is not None else None
        self._script = list(script) if script is not None else None
        self._responses = dict(responses) if responses is not None else None
        self._fn = fn
        self._faults: list[_Scheduled] = []
        self._count = 0
        self._script_pos = 0
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
            self._faults.append(_Scheduled(fault, times, self._count + after_calls))

    def clear_faults(self) -> None:
        with self._lock:
            self._faults.clear()

    @property
    def call_count(self) -> int:
        return self._count

    @property
    def prompts(self) -> list[str]:
        return [c.args[0].prompt for c in self.calls]

    # -- registration ----------------------------------------------------------------------

    def factory(self, agent_config: Any) -> MockLLMProvider:
        """Provider factory for `register_provider`: every agent shares this instance."""
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

    # -- answering -------------------------------------------------------------------------

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
            return self.signature.output_schema  # type: ignore[no-any-return]
        return request.format

    def _rng_seed(self, request: CompletionRequest, number: int) -> str:
        key = f"{self.seed}|{request.seed}|{request.prompt}"
        return hashlib.sha256(key.encode()).hexdigest()

    def _generate(self, request: CompletionRequest, number: int) -> str:
        schema = self._schema_for(request)
        seed = self._rng_seed(request, number)
        if isinstance(schema, Mapping):
            value = sample_schema(schema, seed=seed, include_optional=self.include_optional)
            return json.dumps(value)
        digest = hashlib.sha256(seed.encode()).hexdigest()[:12]
        if schema == "json":
            return json.dumps({"result": f"mock-{digest}"})
        return f"mock completion {digest}"

    def _answer(self, request: CompletionRequest, number: int) -> Answer:
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
        return self._generate(request, number)

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

    def _text(self, answer: Answer, request: CompletionRequest, number: int) -> Completion:
        if isinstance(answer, Completion):
            return answer
        if isinstance(answer, BaseException):
            raise answer
        if isinstance(answer, type) and issubclass(answer, BaseException):
            raise answer(f"{self.name}: scripted {answer.__name__}")
        if isinstance(answer, str):
            text = answer
        elif isinstance(answer, Mapping | list):
            text = json.dumps(answer)
        else:
            raise TypeError(
                f"{self.name}: answer must be str, mapping, list, Completion, exception or "
                f"Fault, got {type(answer).__name__}"
            )
        return Completion(
            text=text,
            model=self.model or request.model,
            prompt_tokens=_tokens(request.prompt) + _tokens(request.system or ""),
            completion_tokens=_tokens(text),
            done_reason="stop",
        )

    def _apply_fault(
        self,
        fault: Fault,
        request: CompletionRequest,
        number: int,
        *,
        streaming: bool,
        scripted: bool,
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
        underlying = self._generate(request, number) if scripted else self._answer(request, number)
        if isinstance(underlying, Fault):
            underlying = self._generate(request, number)
        good = self._text(underlying, request, number)
        if isinstance(fault, MalformedJSONFault):
            text = fault.text if fault.text is not None else _malformed(good.text)
            return Completion(text, good.model, good.prompt_tokens, _tokens(text), "stop")
        if isinstance(fault, TruncatedStreamFault):
            if streaming:
                return good  # the streaming caller truncates chunk-wise
            cut = good.text[: math.floor(len(good.text) * fault.keep)]
            return Completion(cut, good.model, good.prompt_tokens, _tokens(cut), "length")
        raise TypeError(f"unknown fault {fault!r}")  # pragma: no cover

    def _complete(
        self, request: CompletionRequest, *, streaming: bool
    ) -> tuple[Completion, Fault | None]:
        if not isinstance(request, CompletionRequest):
            raise TypeError(f"expected a CompletionRequest, got {type(request).__name__}")
        number, fault = self._next_call()
        started = time.perf_counter()
        scripted = False
        if fault is None:
            answer = self._answer(request, number)
            if isinstance(answer, Fault):
                fault, scripted = answer, True
        if fault is not None:
            completion = self._apply_fault(
                fault, request, number, streaming=streaming, scripted=scripted
            )
        else:
            completion = self._text(answer, request, number)
        duration = (time.perf_counter() - started) * 1000
        return replace(completion, duration_ms=duration), fault  # tool_calls kept

    def _recorded(self, method: str, request: CompletionRequest, streaming: bool) -> Any:
        try:
            completion, fault = self._complete(request, streaming=streaming)
        except BaseException as exc:
            self.log.record(method, (request,), error=exc)
            raise
        return completion, fault

    # -- the Provider protocol -------------------------------------------------------------

    def complete(self, request: CompletionRequest) -> Completion:
        completion, _ = self._recorded("complete", request, False)
        self.log.record("complete", (request,), result=completion)
        return completion

    async def acomplete(self, request: CompletionRequest) -> Completion:
        completion, _ = self._recorded("acomplete", request, False)
        self.log.record("acomplete", (request,), result=completion)
        return completion

    def _chunks(self, text: str) -> list[str]:
        return [text[i : i + self.chunk_size] for i in range(0, len(text), self.chunk_size)]

    def _stream_plan(self, method: str, request: CompletionRequest) -> tuple[list[str], Any]:
        completion, fault = self._recorded(method, request, True)
        chunks = self._chunks(completion.text)
        error = None
        if isinstance(fault, TruncatedStreamFault):
            chunks = chunks[: math.floor(len(chunks) * fault.keep)]
            error = ProviderConnectionError(
                f"simulated truncated stream: connection lost after {len(chunks)} chunk(s)",
                provider=self.name,
                url=self.url,
            )
        self.log.record(method, (request,), result=completion, error=error)
        return chunks, error

    def stream(self, request: CompletionRequest) -> Iterator[str]:
        chunks, error = self._stream_plan("stream", request)
        yield from chunks
        if error is not None:
            raise error

    async def astream(self, request: CompletionRequest) -> AsyncIterator[str]:
        chunks, error = self._stream_plan("astream", request)
        for chunk in chunks:
            yield chunk
        if error is not None:
            raise error


def _messages(request: CompletionRequest) -> list[dict[str, str]]:
    messages = [{"role": "system", "content": request.system}] if request.system else []
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


def _compile(signature: Any) -> Any:
    """A CompiledSignature (or a bare JSON Schema wrapped to look like one)."""
    if hasattr(signature, "output_schema"):
        return signature
    if isinstance(signature, Mapping):
        return _SchemaOnly(signature)
    from kaizen.signatures import compile_signature

    return compile_signature(signature)


@dataclass(frozen=True, slots=True)
class _SchemaOnly:
    output_schema: Mapping[str, Any]


# --- memory -------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class MemoryTurn:
    role: str
    content: str
    at: float


class MockMemoryProvider(_Recorded):
    """Conversation memory per session plus a vector store, in process, with real limits:
    `max_turns` keeps the newest turns, `ttl` expires sessions (clock injectable)."""

    def __init__(
        self,
        *,
        max_turns: int = 50,
        ttl: float | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if max_turns < 1:
            raise ValueError(f"max_turns must be >= 1, got {max_turns}")
        self.max_turns = max_turns
        self.ttl = ttl
        self._clock = clock
        self._sessions: dict[str, list[MemoryTurn]] = {}
        self._touched: dict[str, float] = {}
        self._vectors: dict[str, tuple[list[float], str, dict[str, Any]]] = {}
        self._lock = threading.Lock()
        self.log = CallLog("memory")

    def _expire(self, session_id: str) -> None:
        touched = self._touched.get(session_id)
        if self.ttl is not None and touched is not None and self._clock() - touched > self.ttl:
            self._sessions.pop(session_id, None)
            self._touched.pop(session_id, None)

    def add_turn(self, session_id: str, role: str, content: str) -> None:
        if not session_id:
            raise ValueError("session_id must be a non-empty string")
        with self._lock:
            self._expire(session_id)
            turns = self._sessions.setdefault(session_id, [])
            turns.append(MemoryTurn(role, content, self._clock()))
            del turns[: max(0, len(turns) - self.max_turns)]
            self._touched[session_id] = self._clock()
        self.log.record("add_turn", (session_id, role, content))

    def get_history(self, session_id: str, limit: int | None = None) -> list[MemoryTurn]:
        with self._lock:
            self._expire(session_id)
            turns = list(self._sessions.get(session_id, ()))
        result = turns[-limit:] if limit else turns
        self.log.record("get_history", (session_id,), {"limit": limit}, result=result)
        return result

    def clear(self, session_id: str) -> None:
        with self._lock:
            self._sessions.pop(session_id, None)
            self._touched.pop(session_id, None)
        self.log.record("clear", (session_id,))

    def sessions(self) -> list[str]:
        with self._lock:
            for sid in list(self._sessions):
                self._expire(sid)
            return list(self._sessions)

    def store(
        self,
        key: str,
        text: str,
        embedding: Sequence[float],
        metadata: Mapping[str, Any] | None = None,
    ) -> None:
        vector = [float(x) for x in embedding]
        if not vector or not any(vector):
            raise ValueError(f"embedding for {key!r} must be a non-zero vector")
        with self._lock:
            if self._vectors:
                dims = len(next(iter(self._vectors.values()))[0])
                if len(vector) != dims:
                    raise ValueError(
                        f"embedding for {key!r} has {len(vector)} dims, expected {dims}"
                    )
            self._vectors[key] = (vector, text, dict(metadata or {}))
        self.log.record("store", (key, text), {"dims": len(vector)})

    def search(self, embedding: Sequence[float], k: int = 3) -> list[tuple[str, str, float]]:
        """(key, text, cosine similarity), best first."""
        query = [float(x) for x in embedding]
        with self._lock:
            items = list(self._vectors.items())
        scored = sorted(
            ((key, text, _cosine(query, vec)) for key, (vec, text, _) in items),
            key=lambda item: -item[2],
        )[:k]
        self.log.record("search", (), {"k": k}, result=scored)
        return scored


def _cosine(a: Sequence[float], b: Sequence[float]) -> float:
    if len(a) != len(b):
        raise ValueError(f"dimension mismatch: {len(a)} vs {len(b)}")
    dot = sum(x * y for x, y in zip(a, b, strict=True))
    norm = math.sqrt(sum(x * x for x in a)) * math.sqrt(sum(y * y for y in b))
    return dot / norm if norm else 0.0


# --- database -----------------------------------------------------------------------------


class MockDatabaseProvider(_Recorded):
    """An in-memory SQLite database: real SQL semantics, parameterised queries only.

    `params` are passed to sqlite3, never formatted into the SQL, so an injection attempt
    stays inert here exactly as with the real data nodes.
    """

    def __init__(self) -> None:
        self._conn = sqlite3.connect(":memory:", check_same_thread=False, isolation_level=None)
        self._conn.row_factory = sqlite3.Row
        self._lock = threading.RLock()
        self._in_tx = False
        self.log = CallLog("database")

    def execute(self, sql: str, params: Sequence[Any] | Mapping[str, Any] = ()) -> int:
        """Run one statement; returns the affected row count."""
        return int(self._run("execute", sql, params, lambda cur: cur.rowcount))

    def fetch_all(
        self, sql: str, params: Sequence[Any] | Mapping[str, Any] = ()
    ) -> list[dict[str, Any]]:
        return self._run("fetch_all", sql, params, lambda cur: [dict(r) for r in cur.fetchall()])  # type: ignore[no-any-return]

    def fetch_one(
        self, sql: str, params: Sequence[Any] | Mapping[str, Any] = ()
    ) -> dict[str, Any] | None:
        def one(cur: sqlite3.Cursor) -> dict[str, Any] | None:
            row = cur.fetchone()
            return dict(row) if row is not None else None

        return self._run("fetch_one", sql, params, one)  # type: ignore[no-any-return]

    def _run(
        self, method: str, sql: str, params: Any, read: Callable[[sqlite3.Cursor], Any]
    ) -> Any:
        if not isinstance(params, Sequence | Mapping) or isinstance(params, str):
            raise TypeError(f"params must be a sequence or mapping, got {type(params).__name__}")
        try:
            with self._lock:
                result = read(self._conn.execute(sql, params))
        except sqlite3.Error as exc:
            self.log.record(method, (sql, params), error=exc)
            raise
        self.log.record(method, (sql, params), result=result)
        return result

    @contextmanager
    def transaction(self) -> Iterator[MockDatabaseProvider]:
        """BEGIN ... COMMIT, or ROLLBACK when the block raises."""
        with self._lock:
            if self._in_tx:
                raise RuntimeError("nested transactions are not supported")
            self._conn.execute("BEGIN")
            self._in_tx = True
            self.log.record("begin")
            try:
                yield self
            except BaseException:
                self._conn.execute("ROLLBACK")
                self.log.record("rollback")
                raise
            else:
                self._conn.execute("COMMIT")
                self.log.record("commit")
            finally:
                self._in_tx = False

    def tables(self) -> list[str]:
        rows = self._conn.execute("SELECT name FROM sqlite_master WHERE type='table' ORDER BY name")
        return [r[0] for r in rows]

    def close(self) -> None:
        self._conn.close()
        self.log.record("close")


# --- signature compiler -------------------------------------------------------------------


class MockSignatureCompiler(_Recorded):
    """Wraps the real `compile_signature` (real semantics), recording calls; `fail_with`
    makes the next compilations raise a chosen error (e.g. a SignatureParseError)."""

    def __init__(self) -> None:
        self.log = CallLog("signature_compiler")
        self._failures: list[BaseException] = []

    def fail_with(self, error: BaseException, times: int = 1) -> None:
        self._failures.extend([error] * times)

    def compile(self, signature: Any) -> Any:
        from kaizen.signatures import compile_signature

        if self._failures:
            error = self._failures.pop(0)
            self.log.record("compile", (signature,), error=error)
            raise error
        try:
            compiled = compile_signature(signature)
        except Exception as exc:
            self.log.record("compile", (signature,), error=exc)
            raise
        self.log.record("compile", (signature,), result=compiled)
        return compiled

    __call__ = compile


# --- audit logger -------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class AuditEntry:
    sequence: int
    event: str
    actor: str
    payload: Mapping[str, Any]
    previous_hash: str
    hash: str = field(default="")


def _entry_hash(sequence: int, event: str, actor: str, payload: Any, previous: str) -> str:
    body = json.dumps([sequence, event, actor, payload, previous], sort_keys=True, default=str)
    return hashlib.sha256(body.encode()).hexdigest()


class MockAuditLogger(_Recorded):
    """An in-memory, hash-chained audit trail with the real trail's `verify()` semantics:
    an edited, deleted or reordered entry is detected and named."""

    GENESIS = "0" * 64

    def __init__(self) -> None:
        self._entries: list[AuditEntry] = []
        self._lock = threading.Lock()
        self.log = CallLog("audit")

    def log_event(
        self, event: str, actor: str, payload: Mapping[str, Any] | None = None
    ) -> AuditEntry:
        if not event or not actor:
            raise ValueError("event and actor must be non-empty strings")
        data = copy.deepcopy(dict(payload or {}))
        with self._lock:
            sequence = len(self._entries) + 1
            previous = self._entries[-1].hash if self._entries else self.GENESIS
            digest = _entry_hash(sequence, event, actor, data, previous)
            entry = AuditEntry(sequence, event, actor, data, previous, digest)
            self._entries.append(entry)
        self.log.record("log_event", (event, actor), {"payload": data}, result=entry)
        return entry

    @property
    def entries(self) -> list[AuditEntry]:
        with self._lock:
            return list(self._entries)

    def verify(self) -> list[str]:
        """Problems found, one per broken entry (empty list: the chain is intact)."""
        problems: list[str] = []
        previous = self.GENESIS
        for index, entry in enumerate(self.entries, start=1):
            if entry.sequence != index:
                problems.append(f"entry at position {index} has sequence {entry.sequence}")
            if entry.previous_hash != previous:
                problems.append(f"entry {entry.sequence} does not follow its predecessor")
            expected = _entry_hash(
                entry.sequence, entry.event, entry.actor, entry.payload, entry.previous_hash
            )
            if entry.hash != expected:
                problems.append(f"entry {entry.sequence} was modified (hash mismatch)")
            previous = entry.hash
        self.log.record("verify", result=problems)
        return problems

    def _tamper(self, index: int, entry: AuditEntry | None) -> None:
        """Test hook: replace (or delete, with None) a stored entry behind the chain's back."""
        with self._lock:
            if entry is None:
                del self._entries[index]
            else:
                self._entries[index] = entry
