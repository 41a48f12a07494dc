"""xllamacpp behind a FIFO queue: one generation at a time, in arrival order.

The engine is not safe to drive from several threads, so every request takes a ticket and
waits its turn. A streaming request passes ``on_text``; when it returns False (the client
went away) the generation is cancelled at the next token, which frees the slot for the next
ticket.

A ``format`` grammar goes to llama.cpp in llguidance's syntax (see ``grammar``); every
constrained output is checked against the grammar afterwards, because llama.cpp samples
unconstrained, with only a log line, when llguidance cannot use a grammar.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tests.utils.errors import ToolkitError

from .grammar import Grammar

DEFAULT_CTX = 4096


class EngineError(ToolkitError, RuntimeError):
    """llama.cpp rejected a request; ``status`` is the HTTP status to answer with."""

    def __init__(self, status: int, message: str) -> None:
        self.status = status
        super().__init__(message)


@dataclass(frozen=True)
class Sampling:
    """Generation settings with Ollama's defaults."""

    num_predict: int = -1
    temperature: float = 0.8
    top_p: float = 0.9
    top_k: int = 40
    min_p: float = 0.0
    typical_p: float = 1.0
    seed: int | None = None
    stop: tuple[str, ...] = ()
    repeat_penalty: float = 1.1
    repeat_last_n: int = 64
    presence_penalty: float = 0.0
    frequency_penalty: float = 0.0
    grammar: Grammar | None = None
    num_ctx: int | None = None  # checked against the loaded context by the server, not sent

    def to_request(self, prompt: str, stream: bool) -> dict[str, Any]:
        """The llama.cpp completion request for ``prompt``."""
        request: dict[str, Any] = {
            "prompt": prompt,
            "stream": stream,
            "max_tokens": self.num_predict if self.num_predict >= 0 else -1,
            "temperature": self.temperature,
            "top_p": self.top_p,
            "top_k": self.top_k,
            "min_p": self.min_p,
            "typical_p": self.typical_p,
            "repeat_penalty": self.repeat_penalty,
            "repeat_last_n": self.repeat_last_n,
            "presence_penalty": self.presence_penalty,
            "frequency_penalty": self.frequency_penalty,
            "stop": list(self.stop),
            # Off: reusing a cached prefix changes the numerics, so the same request (same
            # seed) gave different text depending on what ran before. Reproducibility wins
            # over a few hundred ms of prompt evaluation.
            "cache_prompt": False,
        }
        if self.seed is not None:
            request["seed"] = self.seed
        if self.grammar is not None:
            request["grammar"] = self.grammar.lark
        return request

    def stop_can_cut_json(self) -> bool:
        """Whether a stop sequence could end constrained output early (our grammars emit
        printable ASCII only, so e.g. the chat stops starting with a newline never can)."""
        return any(s.isascii() and s.isprintable() for s in self.stop)


@dataclass
class Result:
    """One finished (or cancelled) generation, with Ollama-style counters."""

    text: str = ""
    done_reason: str = "stop"
    prompt_tokens: int = 0
    eval_tokens: int = 0
    prompt_ns: int = 0
    eval_ns: int = 0
    queue_ns: int = 0
    total_ns: int = 0
    chunks: list[str] = field(default_factory=list)


class Engine:
    """One loaded GGUF model and the queue in front of it."""

    def __init__(
        self, model_path: Path, n_ctx: int = DEFAULT_CTX, n_threads: int = 2, verbose: bool = False
    ) -> None:
        self.model_path = model_path
        self.n_ctx = n_ctx
        self.n_threads = n_threads
        self.verbose = verbose
        self.load_ns = 0
        self._server: Any = None
        self._cond = threading.Condition()
        self._next_ticket = 0
        self._serving = 0

    @property
    def loaded(self) -> bool:
        return self._server is not None

    def load(self) -> None:
        """Load the model and run one real token through it, so the first request is warm."""
        import xllamacpp

        started = time.perf_counter_ns()
        params = xllamacpp.CommonParams()
        params.model.path = str(self.model_path)
        params.n_ctx = self.n_ctx
        params.n_parallel = 1
        params.cpuparams.n_threads = self.n_threads
        params.cpuparams_batch.n_threads = self.n_threads
        params.warmup = False  # the real one-token generation below warms better
        params.verbosity = 3 if self.verbose else -1  # llama.cpp logs every request otherwise
        self._server = xllamacpp.Server(params)
        # No grammar here: llguidance builds its token trie for the 262k-token vocabulary on
        # first use (~2.8 s of CPU), which the first `format` request pays, not every start.
        self.generate("Hello", Sampling(num_predict=1, temperature=0.0))
        self.load_ns = time.perf_counter_ns() - started

    def close(self) -> None:
        self._server = None

    def _acquire(self) -> None:
        with self._cond:
            ticket = self._next_ticket
            self._next_ticket += 1
            while ticket != self._serving:
                self._cond.wait()

    def _release(self) -> None:
        with self._cond:
            self._serving += 1
            self._cond.notify_all()

    @property
    def queued(self) -> int:
        """Requests running or waiting."""
        with self._cond:
            return self._next_ticket - self._serving

    def generate(
        self,
        prompt: str,
        sampling: Sampling,
        on_text: Callable[[str], bool] | None = None,
    ) -> Result:
        """Generate after the requests queued before this one; ``on_text`` streams."""
        if self._server is None:
            raise EngineError(503, "model is not loaded")
        arrived = time.perf_counter_ns()
        self._acquire()
        try:
            started = time.perf_counter_ns()
            result = Result(queue_ns=started - arrived)
            if on_text is None:
                response = self._server.handle_completions(sampling.to_request(prompt, False))
                _check(response)
                _fill(result, response)
                result.text = response["choices"][0]["text"]
            else:
                self._stream(prompt, sampling, on_text, result)
            _check_constrained(sampling, result)
            result.total_ns = time.perf_counter_ns() - arrived
            return result
        finally:
            self._release()

    def _stream(
        self, prompt: str, sampling: Sampling, on_text: Callable[[str], bool], result: Result
    ) -> None:
        state: dict[str, Any] = {"cancelled": False, "final": None, "error": None}
        started = time.perf_counter_ns()

        def callback(chunk: dict[str, Any]) -> bool:
            """Called by xllamacpp on this thread; returning True stops the generation."""
            if "error" in chunk:
                state["error"] = chunk
                return True
            choice = chunk["choices"][0]
            text = choice.get("text") or ""
            if text:
                result.chunks.append(text)
                if not on_text(text):
                    state["cancelled"] = True
                    return True
            if choice.get("finish_reason") is not None:
                state["final"] = chunk
            return False

        response = self._server.handle_completions(sampling.to_request(prompt, True), callback)
        if isinstance(response, dict):
            _check(response)
        if state["error"] is not None:
            _check(state["error"])
        result.text = "".join(result.chunks)
        if state["cancelled"]:
            result.done_reason = "cancelled"
            result.eval_tokens = len(result.chunks)
            result.eval_ns = time.perf_counter_ns() - started
        elif state["final"] is not None:
            _fill(result, state["final"])


def _check_constrained(sampling: Sampling, result: Result) -> None:
    """Fail loud when a ``format`` response is outside its grammar (llama.cpp ignored it)."""
    grammar = sampling.grammar
    if grammar is None or result.done_reason == "cancelled":
        return
    if result.done_reason == "stop" and sampling.stop_can_cut_json():
        return  # a client's stop sequence may legitimately have cut the JSON short
    if not grammar.admits(result.text):
        raise EngineError(
            500,
            f"constrained decoding returned text outside the format's grammar "
            f"({result.text[:120]!r}, done_reason={result.done_reason}): llama.cpp did not "
            "apply the grammar (an xllamacpp build without llguidance? install "
            "xllamacpp>=2026.10, the 'llm' extra); the server log (--verbose) says why",
        )


def _check(response: dict[str, Any]) -> None:
    error = response.get("error")
    if error is None:
        return
    if isinstance(error, dict):
        raise EngineError(int(error.get("code", 500)), str(error.get("message", error)))
    raise EngineError(500, str(error))


def _fill(result: Result, response: dict[str, Any]) -> None:
    reason = response["choices"][0].get("finish_reason")
    result.done_reason = "length" if reason == "length" else "stop"
    usage = response.get("usage") or {}
    timings = response.get("timings") or {}
    result.prompt_tokens = int(usage.get("prompt_tokens", timings.get("prompt_n", 0)))
    result.eval_tokens = int(usage.get("completion_tokens", timings.get("predicted_n", 0)))
    result.prompt_ns = int(float(timings.get("prompt_ms", 0.0)) * 1e6)
    result.eval_ns = int(float(timings.get("predicted_ms", 0.0)) * 1e6)
