"""The Ollama HTTP routes on the standard library's ThreadingHTTPServer.

Why the standard library: it imports in milliseconds (start time is budgeted), it adds no
dependency, and one thread per connection is plenty when the engine serves one generation
at a time anyway. Streaming answers use NDJSON over ``Transfer-Encoding: chunked``, as
Ollama does; a failed write means the client left, which cancels the generation.
"""

from __future__ import annotations

import json
import logging
import math
import socket
import time
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import unquote

from . import openai_compat, protocol
from .embeddings import EmbeddingModel
from .engine import Engine, EngineError, Result
from .models import ModelInfo
from .protocol import RequestError
from .tools import ToolOutputError, parse_output

_log = logging.getLogger(__name__)
MAX_BODY = 16 * 1024 * 1024
_LINGER_S = 1.0
_LINGER_BYTES = 1024 * 1024
_CLIENT_GONE = (BrokenPipeError, ConnectionResetError, ConnectionAbortedError, TimeoutError)


class NativeShape:
    """Ollama's own wire format. The routes build Ollama's answers, and a shape writes them:
    this one as they are, ``openai_compat``'s as OpenAI's (one generation path for both)."""

    stream_type = "application/x-ndjson"
    sse = False  # OpenAI's server-sent events (see openai_compat)

    def whole(self, obj: dict[str, Any]) -> dict[str, Any]:
        return obj

    def chunk(self, obj: dict[str, Any]) -> bytes:
        return protocol.ndjson(obj)

    def error(self, status: int, message: str) -> dict[str, Any]:
        return {"error": message}

    def stream_error(self, status: int, message: str) -> bytes:
        return protocol.ndjson({"error": message})


NATIVE = NativeShape()


@dataclass
class ServerState:
    """What the routes serve: the LLM engine and its info, and the embedding model."""

    engine: Engine
    llm: ModelInfo
    embeddings: EmbeddingModel
    expires: dict[str, float] = field(default_factory=dict)
    """Per model (its own name): when it leaves /api/ps (monotonic s); absent = listed
    forever, as the server preloads both models and its default keep-alive is forever."""

    def models(self) -> list[ModelInfo]:
        """Listed models: the LLM, and the embedding model (under each of its names) once it
        can answer."""
        from .models import EMBED_ALIASES

        listed = [self.llm]
        if self.embeddings.state == "ready" and self.embeddings.info is not None:
            info = self.embeddings.info
            listed += [info, *(replace(info, name=alias) for alias in EMBED_ALIASES)]
        return listed

    def running(self) -> list[tuple[ModelInfo, float]]:
        """What /api/ps lists: each loaded model once, under its own name, with the seconds
        until it expires (inf: never)."""
        from .models import EMBED_ALIASES

        now = time.monotonic()
        listed = []
        for m in self.models():
            left = self.expires.get(m.name, math.inf) - now
            if m.name not in EMBED_ALIASES and left > 0:
                listed.append((m, left))
        return listed

    def keep(self, info: ModelInfo, keep_alive: float | None) -> None:
        """Apply a request's ``keep_alive`` once it is answered, as Ollama's scheduler does:
        0 unloads (gone from /api/ps until the next use), a negative value keeps the model
        forever, a positive one for that many seconds; absent means this server's default,
        forever (Ollama's is 5 minutes). The model stays in memory either way: the listing
        is what changes, and the next use finds it warm."""
        name = self.llm.name if "completion" in info.capabilities else self._embed_name()
        if keep_alive is None or keep_alive < 0:
            self.expires.pop(name, None)
        else:
            self.expires[name] = time.monotonic() + keep_alive

    def _embed_name(self) -> str:
        from .models import EMBED_MODEL

        return self.embeddings.info.name if self.embeddings.info else EMBED_MODEL

    def resolve(self, name: str) -> ModelInfo:
        """The model ``name`` means, compared as Ollama compares names (see model_key);
        Ollama's 404 otherwise."""
        key = protocol.model_key(name)
        for info in self.models():
            if protocol.model_key(info.name) == key:
                return info
        raise protocol.model_not_found(name)


class OllamaServer(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(
        self, address: tuple[str, int], state: ServerState, *, listen: bool = True
    ) -> None:
        """Binds at once; with ``listen=False`` call ``server_activate()`` to accept later."""
        self.state = state
        super().__init__(address, _Handler, bind_and_activate=False)
        try:
            self.server_bind()
            if listen:
                self.server_activate()
        except OSError:
            self.server_close()
            raise


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: OllamaServer
    server_version = "kaizen-ollama-local"

    def log_message(self, format: str, *args: Any) -> None:
        _log.debug("%s %s", self.address_string(), format % args)

    _responded = False  # the status line of this request's answer is out
    _streaming = False  # ... and it is a chunked NDJSON stream
    _raw_body = b""
    _linger = False  # closing after an error: drain input first (see finish)
    _shape: NativeShape | openai_compat.OpenAIShape = NATIVE  # this answer's wire format

    # -- plumbing ---------------------------------------------------------------------
    def handle_one_request(self) -> None:
        self._responded = self._streaming = self._linger = False
        self._raw_body = b""
        self._shape = NATIVE
        super().handle_one_request()

    def send_response(self, code: int, message: str | None = None) -> None:
        self._responded = True
        super().send_response(code, message)

    def send_error(self, code: int, message: str | None = None, explain: str | None = None) -> None:
        """The stdlib's own errors (bad request line, unknown method, oversized headers) in
        Ollama's JSON error shape instead of an HTML page; the connection is closed, since
        the stdlib gives up on the request before its body is read."""
        if self._responded:
            self.close_connection = True
            return
        if code == HTTPStatus.NOT_IMPLEMENTED and self.command and self.path:
            # An unknown method on a parsed request: routed like PUT or PATCH (405 or 404,
            # body consumed), as Ollama's router answers it, and the connection stays open.
            self._dispatch({})
            return
        self.close_connection = self._linger = True
        if self.request_version == "HTTP/0.9":  # unparsable line: answer HTTP/1.1 anyway
            self.request_version = self.protocol_version
        self.log_error("code %d, message %s", code, message)
        self._error(code, message or HTTPStatus(code).phrase)

    def finish(self) -> None:
        """After an error that closes the connection, half-close and drain briefly before
        the socket is closed: closing with unread input makes the kernel send a reset,
        which can destroy the error answer before the client reads it (Go's net/http
        lingers the same way)."""
        super().finish()
        if not self._linger:
            return
        try:
            self.connection.shutdown(socket.SHUT_WR)
            deadline = time.monotonic() + _LINGER_S
            drained = 0
            while drained < _LINGER_BYTES and (left := deadline - time.monotonic()) > 0:
                self.connection.settimeout(left)
                data = self.connection.recv(65536)
                if not data:
                    break
                drained += len(data)
        except OSError:
            pass

    def _send(self, status: int, body: bytes, content_type: str) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        if self.close_connection:
            self.send_header("Connection", "close")
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def _json(self, status: int, obj: dict[str, Any]) -> None:
        self._send(status, json.dumps(obj).encode(), "application/json; charset=utf-8")

    def _error(self, status: int, message: str) -> None:
        self._json(status, self._shape.error(status, message))

    def _answer(self, obj: dict[str, Any]) -> None:
        """A whole 200 answer, built in Ollama's shape, written in this request's shape."""
        self._json(200, self._shape.whole(obj))

    def _emit(self, obj: dict[str, Any]) -> None:
        """One streamed object (Ollama's shape) in this request's shape."""
        data = self._shape.chunk(obj)
        if data:  # an empty HTTP chunk would end the body
            self._write_chunk(data)

    def _fail(self, status: int, message: str) -> None:
        """Answer an error, or, if a streamed answer already began, end it with one."""
        if not self._responded:
            self._error(status, message)
            return
        self.close_connection = True
        if self._streaming:
            self._write_chunk(self._shape.stream_error(status, message))
            self._end_stream()

    def _read_body(self) -> dict[str, Any]:
        return protocol.parse_body(self._raw_body)

    def _dispatch(self, routes: dict[str, Any]) -> None:
        path = self.path.split("?", 1)[0].rstrip("/") or "/"
        if path.startswith("/v1/"):
            self._shape = openai_compat.ERRORS  # OpenAI's error objects from the start
        try:
            self._raw_body = protocol.read_body(
                self.rfile,
                self.headers.get("Content-Length"),
                self.headers.get("Transfer-Encoding"),
                MAX_BODY,
            )
            handler = routes.get(path)
            if handler is None and path.startswith("/v1/models/"):
                handler = _Handler.v1_model if routes is _GET_ROUTES else None
                if handler is None:
                    raise RequestError(405, f"405 method not allowed: {self.command} {path}")
            if handler is None:
                if path in _GET_ROUTES.keys() | _POST_ROUTES.keys() | _DELETE_ROUTES.keys():
                    raise RequestError(405, f"405 method not allowed: {self.command} {path}")
                raise RequestError(404, f"404 page not found: {path}")
            handler(self)
        except protocol.FramingError as exc:
            self.close_connection = self._linger = True  # where the next request starts?
            self._fail(exc.status, exc.message)
        except RequestError as exc:
            self._fail(exc.status, exc.message)
        except EngineError as exc:
            self._fail(exc.status, str(exc))
        except _CLIENT_GONE:
            self.close_connection = True
        except Exception as exc:  # a bug must answer 500 and keep the server up
            _log.exception("unhandled error on %s %s", self.command, path)
            self._fail(500, f"internal error: {type(exc).__name__}: {exc}")

    def do_GET(self) -> None:
        self._dispatch(_GET_ROUTES)

    def do_HEAD(self) -> None:
        self._dispatch(_GET_ROUTES)

    def do_POST(self) -> None:
        self._dispatch(_POST_ROUTES)

    def do_DELETE(self) -> None:
        self._dispatch(_DELETE_ROUTES)

    def do_PUT(self) -> None:
        self._dispatch({})

    def do_PATCH(self) -> None:
        self._dispatch({})

    def do_OPTIONS(self) -> None:
        self._dispatch({})

    # -- informational routes ---------------------------------------------------------
    def root(self) -> None:
        self._send(200, b"Ollama is running", "text/plain; charset=utf-8")

    def version(self) -> None:
        self._json(200, {"version": protocol.VERSION})

    def tags(self) -> None:
        self._json(200, {"models": [m.tag() for m in self.server.state.models()]})

    def ps(self) -> None:
        models = []
        for m, left in self.server.state.running():
            expires = datetime.now(UTC) + timedelta(days=365 if math.isinf(left) else left / 86400)
            entry = {**m.tag(), "expires_at": expires.isoformat(), "size_vram": 0}
            entry["context_length"] = m.context_length
            entry.pop("modified_at", None)
            models.append(entry)
        self._json(200, {"models": models})

    def show(self) -> None:
        info = self.server.state.resolve(protocol.parse_model(self._read_body()))
        self._json(
            200,
            {
                "modelfile": f"# served by Kaizen's local Ollama-API server\nFROM {info.name}\n",
                "parameters": "",
                "template": "{{ .Prompt }}",
                "license": "Gemma Terms of Use" if info.family == "gemma3" else "Apache-2.0",
                "details": info.details(),
                "model_info": {
                    "general.architecture": info.family,
                    f"{info.family}.context_length": info.context_length,
                },
                "capabilities": list(info.capabilities),
                "modified_at": info.modified_at,
            },
        )

    def pull(self) -> None:
        body = self._read_body()
        self.server.state.resolve(protocol.parse_model(body))
        if protocol.parse_stream(body):
            self._start_stream()
            self._write_chunk(protocol.ndjson({"status": "success"}))
            self._end_stream()
        else:
            self._json(200, {"status": "success"})

    def unsupported(self) -> None:
        """Model management is not served; the body was read, so the connection stays usable."""
        self._error(501, f"{self.path} is not supported by Kaizen's local Ollama-API server")

    # -- generation -------------------------------------------------------------------
    def generate(self) -> None:
        self._generation(protocol.parse_generate(self._read_body()), chat=False)

    def chat(self) -> None:
        self._generation(protocol.parse_chat(self._read_body()), chat=True)

    def _generation(self, job: protocol.GenerationJob, *, chat: bool) -> None:
        state = self.server.state
        info = state.resolve(job.model)
        if "completion" not in info.capabilities:
            action = "chat" if chat else "generate"
            raise RequestError(400, f'"{job.model}" does not support {action}')
        num_ctx = job.sampling.num_ctx
        if num_ctx is not None and num_ctx != info.context_length:
            raise RequestError(
                400,
                f"option 'num_ctx' is {num_ctx}, but this server runs {info.name} with a fixed "
                f"context of {info.context_length} tokens: drop the option, set it to "
                f"{info.context_length}, or start the server with --ctx {num_ctx}",
            )
        state.keep(info, -1)  # in use: listed while it runs
        try:
            self._generate(job, chat=chat)
        finally:
            state.keep(info, job.keep_alive)

    def _generate(self, job: protocol.GenerationJob, *, chat: bool) -> None:
        state = self.server.state
        if not job.prompt:
            # Ollama answers an empty prompt by (un)loading the model.
            reason = "unload" if job.keep_alive_zero else "load"
            done = protocol.final(job.model, Result(done_reason=reason), chat=chat, text="")
            if chat:
                done["message"] = {"role": "assistant", "content": ""}
            for key in ("prompt_eval_count", "prompt_eval_duration", "eval_count", "eval_duration"):
                done.pop(key)
            if job.stream and self._shape.sse:  # Ollama's /v1 sends it as a one-event stream
                self._start_stream()
                self._emit(done)
                self._end_stream()
            else:
                self._answer(done)
            return
        if job.tools:
            self._tool_generation(job)
            return
        if not job.stream:
            result = state.engine.generate(job.prompt, job.sampling)
            self._answer(protocol.final(job.model, result, chat=chat, text=result.text))
            return
        self._stream_generation(job, chat=chat)

    def _tool_generation(self, job: protocol.GenerationJob) -> None:
        """A chat with tools: the constrained output is buffered whole, since a call is only
        known once it parses; streamed, the message is one chunk before the final one (real
        Ollama also sends a call as one chunk, but streams an answer token by token)."""
        result = self.server.state.engine.generate(job.prompt, job.sampling)
        try:
            message = parse_output(result.text, job.tools, formatted=job.formatted)
        except ToolOutputError as exc:
            raise EngineError(500, f"{exc} (done_reason={result.done_reason})") from None
        if not job.stream:
            done = protocol.final(job.model, result, chat=True, text="")
            done["message"] = message
            self._answer(done)
            return
        first = protocol.chunk(job.model, "", chat=True)
        first["message"] = message
        self._start_stream()
        self._emit(first)
        self._emit(protocol.final(job.model, result, chat=True, text=""))
        self._end_stream()

    def _stream_generation(self, job: protocol.GenerationJob, *, chat: bool) -> None:
        engine = self.server.state.engine
        started = False

        def on_text(text: str) -> bool:
            nonlocal started
            try:
                if not started:
                    self._start_stream()
                    started = True
                self._emit(protocol.chunk(job.model, text, chat=chat))
                return True
            except _CLIENT_GONE:
                self.close_connection = True
                return False

        try:
            result = engine.generate(job.prompt, job.sampling, on_text)
        except EngineError as exc:
            if not started:
                raise
            self._write_chunk(self._shape.stream_error(exc.status, str(exc)))
            self._end_stream()
            return
        if result.done_reason == "cancelled":
            _log.info("client left mid-stream after %d chunks; slot freed", len(result.chunks))
            return
        if not started:
            self._start_stream()
        self._emit(protocol.final(job.model, result, chat=chat, text=""))
        self._end_stream()

    def _start_stream(self) -> None:
        self._streaming = True
        self.send_response(200)
        self.send_header("Content-Type", self._shape.stream_type)
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()

    def _write_chunk(self, data: bytes) -> None:
        self.wfile.write(protocol.http_chunk(data))
        self.wfile.flush()

    def _end_stream(self) -> None:
        self.wfile.write(protocol.http_chunk(b""))
        self.wfile.flush()

    # -- embeddings -------------------------------------------------------------------
    def embed(self) -> None:
        self._embedding(protocol.parse_embed(self._read_body(), legacy=False))

    def embeddings(self) -> None:
        self._embedding(protocol.parse_embed(self._read_body(), legacy=True))

    def _embedding(self, job: protocol.EmbedJob) -> None:
        state = self.server.state
        info = state.resolve(job.model)
        if "embedding" not in info.capabilities:
            raise RequestError(400, f'"{job.model}" does not support embeddings')
        if job.num_ctx is not None and job.num_ctx < info.context_length:
            # Ollama truncates to min(num_ctx, the model's length); only the larger case,
            # where that minimum is the model's own length, is served here.
            raise RequestError(
                400,
                f"option 'num_ctx' below {info.context_length} (the length {info.name} "
                "truncates inputs to) is not supported by this server: drop it",
            )
        if not job.truncate and any(state.embeddings.overflows(job.inputs)):
            raise RequestError(400, "the input length exceeds the context length")  # Ollama's
        state.keep(info, -1)
        try:
            started = time.perf_counter_ns()
            vectors, tokens = state.embeddings.embed(job.inputs)
            elapsed = time.perf_counter_ns() - started
        finally:
            state.keep(info, job.keep_alive)
        vectors = [protocol.truncate_dimensions(v, job.dimensions) for v in vectors]
        if job.legacy:
            self._answer({"embedding": vectors[0]})
            return
        self._answer(
            {
                "model": job.model,
                "embeddings": vectors,
                "total_duration": elapsed,
                "load_duration": 0,
                "prompt_eval_count": tokens,
            }
        )

    # -- the OpenAI-compatible routes: openai_compat translates, the paths above run -----
    def v1_models(self) -> None:
        self._json(200, openai_compat.model_list(self.server.state.models()))

    def v1_model(self) -> None:
        name = unquote(self.path.split("?", 1)[0].rstrip("/").removeprefix("/v1/models/"))
        self._json(200, openai_compat.model_entry(name, self.server.state.resolve(name)))

    def v1_chat(self) -> None:
        job, self._shape = openai_compat.parse_chat(self._read_body())
        self._generation(job, chat=True)

    def v1_completions(self) -> None:
        job, self._shape = openai_compat.parse_completion(self._read_body())
        self._generation(job, chat=False)

    def v1_embeddings(self) -> None:
        job, self._shape = openai_compat.parse_embeddings(self._read_body())
        self._embedding(job)


_GET_ROUTES = {
    "/": _Handler.root,
    "/api/version": _Handler.version,
    "/api/tags": _Handler.tags,
    "/api/ps": _Handler.ps,
    "/v1/models": _Handler.v1_models,
}
_POST_ROUTES = {
    "/api/show": _Handler.show,
    "/api/generate": _Handler.generate,
    "/api/chat": _Handler.chat,
    "/api/embed": _Handler.embed,
    "/api/embeddings": _Handler.embeddings,
    "/api/pull": _Handler.pull,
    "/api/create": _Handler.unsupported,
    "/api/copy": _Handler.unsupported,
    "/api/push": _Handler.unsupported,
    "/v1/chat/completions": _Handler.v1_chat,
    "/v1/completions": _Handler.v1_completions,
    "/v1/embeddings": _Handler.v1_embeddings,
}
_DELETE_ROUTES = {"/api/delete": _Handler.unsupported}
