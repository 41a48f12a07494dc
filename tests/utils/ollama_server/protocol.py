"""Ollama request parsing and response shapes, with no I/O and no model.

Everything a client can get wrong is checked here and raised as ``RequestError`` with the
HTTP status and a message naming the field, so the HTTP layer stays a thin router and this
module is unit-testable without a model.
"""

from __future__ import annotations

import json
import logging
import math
import re
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Any, Protocol

from tests.utils.errors import ToolkitError

from .engine import Result, Sampling
from .grammar import GrammarError, grammar_for_format, grammar_for_tools
from .tools import Tool, ToolsError, parse_tools, render_answer, render_call, render_tools

_log = logging.getLogger(__name__)
VERSION = "0.9.0"  # the Ollama API level this server imitates; GET / says what it is
CHAT_STOPS = ("\nUser:", "\nSystem:")

# Ollama option name -> (Sampling field, accepted python types)
_OPTION_FIELDS: dict[str, tuple[str, tuple[type, ...]]] = {
    "num_predict": ("num_predict", (int,)),
    "temperature": ("temperature", (int, float)),
    "top_p": ("top_p", (int, float)),
    "top_k": ("top_k", (int,)),
    "min_p": ("min_p", (int, float)),
    "typical_p": ("typical_p", (int, float)),
    "seed": ("seed", (int,)),
    "repeat_penalty": ("repeat_penalty", (int, float)),
    "repeat_last_n": ("repeat_last_n", (int,)),
    "presence_penalty": ("presence_penalty", (int, float)),
    "frequency_penalty": ("frequency_penalty", (int, float)),
}
# Options Ollama knows that do not change what this server generates: accepted, ignored.
_IGNORED_OPTIONS = frozenset(
    {
        "numa",
        "num_batch",
        "num_gpu",
        "main_gpu",
        "low_vram",
        "f16_kv",
        "logits_all",
        "vocab_only",
        "use_mmap",
        "use_mlock",
        "embedding_only",
        "num_thread",
        "num_keep",
        "tfs_z",
        "mirostat",
        "mirostat_tau",
        "mirostat_eta",
        "penalize_newline",
    }
)
_DURATION = re.compile(r"^-?(\d+(\.\d+)?(ns|us|µs|ms|s|m|h))+$")


class RequestError(ToolkitError):
    """A request the server refuses; ``status`` and ``message`` go into Ollama's error shape."""

    def __init__(self, status: int, message: str) -> None:
        self.status = status
        self.message = message
        super().__init__(message)


def model_key(name: str) -> tuple[str, str, str, str]:
    """``name`` as Ollama compares model names: host, namespace, model and tag, with the
    defaults ``registry.ollama.ai``, ``library`` and ``latest`` filled in, case-folded.

    So ``gemma3:270m``, ``library/gemma3:270m`` and ``registry.ollama.ai/library/gemma3:270m``
    are one model, and ``all-minilm`` means ``all-minilm:latest`` (never "any tag").
    """
    rest, tag = name, ""
    if rest.rfind(":") > rest.rfind("/"):
        rest, _, tag = rest.rpartition(":")
    parts = rest.split("/")
    model = parts[-1]
    namespace = parts[-2] if len(parts) >= 2 else ""
    host = "/".join(parts[:-2]).split("://", 1)[-1] if len(parts) >= 3 else ""
    return (
        (host or "registry.ollama.ai").casefold(),
        (namespace or "library").casefold(),
        model.casefold(),
        (tag or "latest").casefold(),
    )


def model_not_found(name: str) -> RequestError:
    """Ollama's exact wording and status for a model it does not have."""
    return RequestError(404, f'model "{name}" not found, try pulling it first')


class _Stream(Protocol):
    def read(self, size: int = -1, /) -> bytes: ...
    def readline(self, size: int = -1, /) -> bytes: ...


class FramingError(RequestError):
    """The body's framing itself is broken: the connection cannot be reused after it."""


def read_body(
    rfile: _Stream, content_length: str | None, transfer_encoding: str | None, limit: int
) -> bytes:
    """The whole request body, read off the connection before any route looks at it.

    Why every request, even one that is answered with an error: bytes left unread would be
    parsed as the next request on a keep-alive connection. A body that cannot be delimited
    (bad length, broken chunking, over ``limit``) raises FramingError, and the caller must
    close the connection, since where the next request starts is unknown.
    """
    encoding = (transfer_encoding or "").strip().lower()
    if encoding:
        if encoding != "chunked":
            raise FramingError(501, f"Transfer-Encoding {transfer_encoding!r} is not supported")
        return _read_chunked(rfile, limit)
    if content_length is None or not content_length.strip():
        return b""
    try:
        length = int(content_length)
    except ValueError:
        length = -1
    if length < 0:
        raise FramingError(400, f"invalid Content-Length header {content_length!r}")
    if length > limit:
        raise FramingError(413, f"request body of {length} bytes exceeds {limit} bytes")
    body = rfile.read(length)
    if len(body) != length:
        raise FramingError(400, f"request body ended after {len(body)} of {length} bytes")
    return body


def _read_chunked(rfile: _Stream, limit: int) -> bytes:
    parts: list[bytes] = []
    total = 0
    while True:
        line = rfile.readline(1024)
        size_text = line.split(b";", 1)[0].strip()
        try:
            size = int(size_text, 16)
        except ValueError:
            raise FramingError(400, f"invalid chunk size line {line[:40]!r}") from None
        if size == 0:
            break
        total += size
        if total > limit:
            raise FramingError(413, f"chunked request body exceeds {limit} bytes")
        data = rfile.read(size)
        if len(data) != size or rfile.read(2) != b"\r\n":
            raise FramingError(400, "chunked request body ended inside a chunk")
        parts.append(data)
    while True:  # trailer fields, up to the empty line
        line = rfile.readline(8192)
        if line in (b"\r\n", b"\n"):
            break
        if not line:
            raise FramingError(400, "chunked request body ended before its last CRLF")
    return b"".join(parts)


def parse_body(raw: bytes) -> dict[str, Any]:
    """The JSON object in a request body."""
    if not raw.strip():
        raise RequestError(400, "missing request body: send a JSON object")
    try:
        body = json.loads(raw)
    except (ValueError, UnicodeDecodeError) as exc:
        raise RequestError(400, f"invalid JSON in request body: {exc}") from None
    if not isinstance(body, dict):
        raise RequestError(400, f"request body must be a JSON object, got {type(body).__name__}")
    return body


def _typed(body: dict[str, Any], key: str, types: tuple[type, ...], what: str) -> Any:
    value = body.get(key)
    if value is None:
        return None
    if isinstance(value, bool) and bool not in types:
        raise RequestError(400, f"{key!r} must be {what}, got {value!r}")
    if not isinstance(value, types):
        raise RequestError(400, f"{key!r} must be {what}, got {type(value).__name__}")
    return value


def parse_model(body: dict[str, Any]) -> str:
    """The ``model`` field (``name`` is the older spelling /api/show still accepts)."""
    model = body.get("model") or body.get("name")
    if model is None or model == "":
        raise RequestError(400, 'model is required: add "model": "<name>" to the request')
    if not isinstance(model, str):
        raise RequestError(400, f"'model' must be a string, got {type(model).__name__}")
    return model


def parse_stream(body: dict[str, Any]) -> bool:
    """Ollama streams unless told ``"stream": false``."""
    value = _typed(body, "stream", (bool,), "true or false")
    return True if value is None else value


_UNIT_SECONDS = {"ns": 1e-9, "us": 1e-6, "µs": 1e-6, "ms": 1e-3, "s": 1.0, "m": 60.0, "h": 3600.0}


def parse_keep_alive(body: dict[str, Any]) -> float | None:
    """``keep_alive`` in seconds (None when absent; negative means "keep loaded forever"),
    from a number of seconds or a Go duration string, as Ollama reads it."""
    value = body.get("keep_alive")
    if value is None:
        return None
    if isinstance(value, int | float) and not isinstance(value, bool):
        return float(value)
    if isinstance(value, str) and re.fullmatch(r"-?\d+", value):
        return float(value)
    if isinstance(value, str) and _DURATION.match(value):
        sign = -1.0 if value.startswith("-") else 1.0
        parts = re.findall(r"(\d+(?:\.\d+)?)(ns|us|µs|ms|s|m|h)", value)
        return sign * sum(float(n) * _UNIT_SECONDS[unit] for n, unit in parts)
    raise RequestError(
        400, f"'keep_alive' must be a number of seconds or a duration like \"5m\", got {value!r}"
    )


def parse_options(options: Any) -> Sampling:
    """Ollama ``options`` mapped onto the engine's sampling settings."""
    if options is None:
        return Sampling()
    if not isinstance(options, dict):
        raise RequestError(400, f"'options' must be an object, got {type(options).__name__}")
    changes: dict[str, Any] = {}
    for key, value in options.items():
        if value is None or key in _IGNORED_OPTIONS:
            continue
        if key == "num_ctx":
            if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
                raise RequestError(
                    400, f"option 'num_ctx' must be a positive integer, got {value!r}"
                )
            changes["num_ctx"] = value
            continue
        if key == "stop":
            changes["stop"] = _parse_stop(value)
            continue
        spec = _OPTION_FIELDS.get(key)
        if spec is None:  # Ollama logs "invalid option provided" and carries on
            _log.warning("invalid option provided: %r (ignored, as Ollama does)", key)
            continue
        field_name, types = spec
        if isinstance(value, bool) or not isinstance(value, types):
            kind = "an integer" if types == (int,) else "a number"
            raise RequestError(400, f"option {key!r} must be {kind}, got {value!r}")
        changes[field_name] = float(value) if float in types else value  # type: ignore[arg-type]
    sampling = replace(Sampling(), **changes)
    if sampling.temperature < 0:
        raise RequestError(400, f"option 'temperature' must be >= 0, got {sampling.temperature}")
    if sampling.num_predict < -2:
        raise RequestError(400, f"option 'num_predict' must be >= -2, got {sampling.num_predict}")
    if sampling.num_predict == -2:
        sampling = replace(sampling, num_predict=-1)
    return sampling


def _parse_stop(value: Any) -> tuple[str, ...]:
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list) or not all(isinstance(s, str) and s for s in value):
        raise RequestError(400, "option 'stop' must be a list of non-empty strings")
    return tuple(value)


def apply_format(sampling: Sampling, fmt: Any) -> Sampling:
    """Constrain decoding to ``format``; the token limit grows if the JSON needs it to close."""
    if fmt is None or fmt == "":
        return sampling
    if not (fmt == "json" or isinstance(fmt, dict)):
        raise RequestError(400, f"'format' must be \"json\" or a JSON Schema object, got {fmt!r}")
    budget = sampling.num_predict if sampling.num_predict > 0 else None
    try:
        grammar = grammar_for_format(fmt, budget=budget)
    except GrammarError as exc:
        raise RequestError(400, str(exc)) from None
    limit = max(sampling.num_predict, grammar.max_chars)
    return replace(sampling, grammar=grammar, num_predict=limit)


def apply_tools(
    sampling: Sampling, tools: tuple[Tool, ...], fmt: Any, *, answer: bool = True
) -> Sampling:
    """Constrain decoding to a call of one of ``tools`` or (with ``answer``) an answer
    matching ``format`` if given; the token limit grows if the longest output needs it."""
    if fmt == "":
        fmt = None
    if not (fmt is None or fmt == "json" or isinstance(fmt, dict)):
        raise RequestError(400, f"'format' must be \"json\" or a JSON Schema object, got {fmt!r}")
    budget = sampling.num_predict if sampling.num_predict > 0 else None
    try:
        grammar = grammar_for_tools(
            [(t.name, t.parameters) for t in tools], fmt, budget=budget, answer=answer
        )
    except GrammarError as exc:
        raise RequestError(400, str(exc)) from None
    limit = max(sampling.num_predict, grammar.max_chars)
    return replace(sampling, grammar=grammar, num_predict=limit)


def _reject_unsupported(body: dict[str, Any], model: str) -> None:
    if body.get("images"):
        raise RequestError(400, f'"{model}" does not support images')
    if body.get("think") not in (None, False):
        raise RequestError(400, f'"{model}" does not support thinking')
    if body.get("suffix"):
        raise RequestError(400, f'"{model}" does not support insert (suffix)')


@dataclass(frozen=True)
class GenerationJob:
    """A parsed /api/generate or /api/chat request, ready for the engine."""

    model: str
    prompt: str
    stream: bool
    sampling: Sampling
    keep_alive: float | None
    tools: tuple[Tool, ...] = ()
    """The request's tools: the output is then a call or a wrapped answer (see tools)."""
    formatted: bool = False
    """Whether the request has ``format`` (a tool-constrained answer is then JSON)."""

    @property
    def keep_alive_zero(self) -> bool:
        return self.keep_alive == 0


def _reject_unimplemented(body: dict[str, Any]) -> None:
    """Fields Ollama honours that this server cannot: a 400 naming each, never ignored."""
    if body.get("logprobs") not in (None, False):
        _typed(body, "logprobs", (bool,), "true or false")
        raise RequestError(
            400, "'logprobs' is not supported by Kaizen's local Ollama-API server: drop it"
        )
    top = _typed(body, "top_logprobs", (int,), "an integer")
    if top is not None and not 0 <= top <= 20:
        raise RequestError(400, "top_logprobs must be between 0 and 20")  # Ollama's wording
    # Without logprobs, Ollama ignores top_logprobs too ("only applies when logprobs is true").
    _typed(body, "truncate", (bool,), "true or false")
    _typed(body, "shift", (bool,), "true or false")


def parse_generate(body: dict[str, Any]) -> GenerationJob:
    """/api/generate: plain completion of ``system`` + ``prompt`` (the model is a base model)."""
    model = parse_model(body)
    prompt = _typed(body, "prompt", (str,), "a string") or ""
    system = _typed(body, "system", (str,), "a string")
    _typed(body, "raw", (bool,), "true or false")
    _typed(body, "template", (str,), "a string")
    context = body.get("context")
    if context is not None and not (
        isinstance(context, list) and all(isinstance(t, int) for t in context)
    ):
        raise RequestError(400, "'context' must be a list of integers")
    if context:
        raise RequestError(
            400,
            "'context' (deprecated by Ollama) is not supported by Kaizen's local Ollama-API "
            "server: send the earlier turns in 'prompt', or use /api/chat with 'messages'",
        )
    stream = parse_stream(body)
    keep_alive = parse_keep_alive(body)
    _reject_unsupported(body, model)
    if body.get("tools"):
        raise RequestError(400, "'tools' is supported on /api/chat only (as in Ollama's API)")
    _reject_unimplemented(body)
    sampling = apply_format(parse_options(body.get("options")), body.get("format"))
    text = f"{system}\n\n{prompt}" if system and prompt else prompt
    return GenerationJob(model, text, stream, sampling, keep_alive)


def parse_chat(
    body: dict[str, Any], *, required: bool = False, only: str | None = None
) -> GenerationJob:
    """/api/chat as a plain-text transcript ending in ``Assistant:`` (no chat template).

    With ``tools``, the tool list follows the transcript (after a tool's result, only the
    request for the answer: see ``tools.render_tools``),
    earlier answers are written as the grammar makes the model write them, earlier calls in
    prose (``Assistant called NAME with ARGS``), and a ``role: "tool"`` result is a
    ``Tool (<tool_name>):`` line. ``required`` (a call to one
    of the tools) and ``only`` (a call to that tool) narrow the grammar: OpenAI's
    ``tool_choice``, which only /v1 has.
    """
    model = parse_model(body)
    try:
        tools = parse_tools(body.get("tools"))
    except ToolsError as exc:
        raise RequestError(400, str(exc)) from None
    messages = body.get("messages")
    if messages is None:
        messages = []
    if not isinstance(messages, list):
        raise RequestError(400, f"'messages' must be a list, got {type(messages).__name__}")
    lines: list[str] = []
    for i, message in enumerate(messages):
        lines.extend(_render_message(message, i, model, wrap_answers=bool(tools)))
    stream = parse_stream(body)
    keep_alive = parse_keep_alive(body)
    _reject_unsupported(body, model)
    _reject_unimplemented(body)
    sampling = parse_options(body.get("options"))
    sampling = replace(sampling, stop=tuple(dict.fromkeys(sampling.stop + CHAT_STOPS)))
    fmt = body.get("format")
    if tools:
        allowed = tools if only is None else tuple(t for t in tools if t.name == only)
        if not allowed:
            raise RequestError(400, f"tool_choice names {only!r}, which is not in 'tools'")
        answer = not required and only is None
        sampling = apply_tools(sampling, allowed, fmt, answer=answer)
    else:
        if required or only is not None:
            raise RequestError(400, "tool_choice requires a call, but the request has no tools")
        sampling = apply_format(sampling, fmt)
    prompt = "\n".join(lines) + "\nAssistant:" if lines else ""
    if tools and lines:  # after the transcript: measured 19 of 20 calls, 10 before it
        last = messages[-1] if messages else None
        after_result = isinstance(last, dict) and last.get("role") == "tool"
        section = render_tools(tools, after_result=after_result)
        prompt = "\n".join(lines) + "\n\n" + section + "\nAssistant:"
    formatted = fmt is not None and fmt != ""
    return GenerationJob(model, prompt, stream, sampling, keep_alive, tools, formatted)


def _render_message(message: Any, i: int, model: str, *, wrap_answers: bool) -> list[str]:
    """The transcript lines of ``messages[i]``."""
    if not isinstance(message, dict):
        raise RequestError(400, f"messages[{i}] must be an object")
    role = message.get("role")
    if role not in ("system", "developer", "user", "assistant", "tool"):
        raise RequestError(
            400,
            f"messages[{i}].role must be system, developer, user, assistant or tool, got {role!r}",
        )
    content = message.get("content") or ""
    if not isinstance(content, str):
        raise RequestError(400, f"messages[{i}].content must be a string")
    if message.get("images"):
        raise RequestError(400, f'"{model}" does not support images')
    calls = message.get("tool_calls")
    if calls is not None and role != "assistant":
        raise RequestError(400, f"messages[{i}].tool_calls is only allowed on assistant messages")
    if calls is not None and not isinstance(calls, list):
        raise RequestError(400, f"messages[{i}].tool_calls must be a list")
    for key in ("tool_name", "tool_call_id"):
        if message.get(key) is not None and not isinstance(message[key], str):
            raise RequestError(400, f"messages[{i}].{key} must be a string")
    if role in ("system", "developer"):  # developer: the system turn, as Ollama's
        return [f"{content}\n"]  # Gemma renderers treat it
    if role == "tool":
        name = message.get("tool_name")
        return [f"Tool ({name}): {content}" if name else f"Tool: {content}"]
    if role == "assistant":
        try:
            rendered = [
                render_call(call, f"messages[{i}].tool_calls[{j}]")
                for j, call in enumerate(calls or ())
            ]
        except ToolsError as exc:
            raise RequestError(400, str(exc)) from None
        lines = [f"Assistant {text}" for text in rendered]  # "Assistant called ..."
        if content or not rendered:
            answer = render_answer(content) if wrap_answers and content else content
            lines.insert(0, f"Assistant: {answer}")
        return lines
    return [f"{role.capitalize()}: {content}"]


@dataclass(frozen=True)
class EmbedJob:
    model: str
    inputs: list[str]
    legacy: bool
    dimensions: int = 0  # 0: all of them
    truncate: bool = True
    num_ctx: int | None = None
    keep_alive: float | None = None


def parse_embed(body: dict[str, Any], *, legacy: bool) -> EmbedJob:
    """/api/embed (``input``: string or list) or legacy /api/embeddings (``prompt``)."""
    model = parse_model(body)
    keep_alive = parse_keep_alive(body)
    num_ctx = parse_options(body.get("options")).num_ctx
    if legacy:
        prompt = _typed(body, "prompt", (str,), "a string")
        return EmbedJob(model, [prompt or ""], True, num_ctx=num_ctx, keep_alive=keep_alive)
    raw = body.get("input")
    if raw is None:
        raise RequestError(400, "'input' is required: a string or a list of strings")
    inputs = [raw] if isinstance(raw, str) else raw
    if not isinstance(inputs, list) or not all(isinstance(s, str) for s in inputs):
        raise RequestError(400, "'input' must be a string or a list of strings")
    dims = _typed(body, "dimensions", (int,), "an integer") or 0
    if dims < 0:
        raise RequestError(400, f"'dimensions' must be a positive integer, got {dims}")
    truncate = _typed(body, "truncate", (bool,), "true or false")
    return EmbedJob(
        model, inputs, False, dims, truncate is not False, num_ctx, keep_alive=keep_alive
    )


def truncate_dimensions(vector: list[float], dimensions: int) -> list[float]:
    """Ollama's ``dimensions``: the first ``dimensions`` values, renormalised to unit length
    (a vector no longer than that is returned whole)."""
    if not 0 < dimensions < len(vector):
        return vector
    head = vector[:dimensions]
    norm = math.sqrt(sum(v * v for v in head))
    if norm == 0.0:
        return head
    return [v / norm for v in head]


# -- responses --------------------------------------------------------------------------
def now() -> str:
    """RFC 3339 UTC timestamp as Ollama writes it."""
    return datetime.now(UTC).isoformat().replace("+00:00", "Z")


def chunk(model: str, text: str, *, chat: bool) -> dict[str, Any]:
    """One streamed NDJSON object carrying ``text``."""
    body: dict[str, Any] = {"model": model, "created_at": now()}
    if chat:
        body["message"] = {"role": "assistant", "content": text}
    else:
        body["response"] = text
    body["done"] = False
    return body


def final(model: str, result: Result, *, chat: bool, text: str, load_ns: int = 0) -> dict[str, Any]:
    """The last object (or the whole ``stream: false`` answer) with counters and durations."""
    body = chunk(model, text, chat=chat)
    body.update(
        done=True,
        done_reason=result.done_reason,
        total_duration=result.total_ns,
        load_duration=load_ns,
        prompt_eval_count=result.prompt_tokens,
        prompt_eval_duration=result.prompt_ns,
        eval_count=result.eval_tokens,
        eval_duration=result.eval_ns,
    )
    return body


def ndjson(obj: dict[str, Any]) -> bytes:
    """One NDJSON line."""
    return json.dumps(obj, separators=(",", ":"), ensure_ascii=False).encode() + b"\n"


def http_chunk(data: bytes) -> bytes:
    """``data`` framed for ``Transfer-Encoding: chunked`` (empty data ends the body)."""
    return f"{len(data):x}\r\n".encode() + data + b"\r\n"
