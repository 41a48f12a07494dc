"""Ollama's OpenAI-compatible ``/v1`` API, as a translation over the native routes.

Real Ollama serves ``/v1`` with a middleware that rewrites an OpenAI request into a native
one, runs the native handler, and rewrites each native answer it writes (``openai/openai.go``
and ``middleware/openai.go``). This module is that middleware: ``parse_*`` turn an OpenAI
body into the native body and then into the job ``protocol`` parses from it, and the
shapes write the native answers the shared generation path builds as OpenAI's (ids
``chatcmpl-NNN`` / ``cmpl-NNN``, ``system_fingerprint: "fp_ollama"``, ``usage``, SSE
``data:`` events ending in ``data: [DONE]``, ``stream_options.include_usage``, error
objects ``{"error": {"message", "type", "param", "code"}}``). So engine, queue, grammar and
validation are the native ones; nothing here generates. No I/O: unit-testable.

Deviations from real Ollama's ``/v1`` (it ignores what it does not support; this server
honours it or refuses it with a 400 naming the field, never accepting and ignoring it):

- ``tool_choice`` is honoured (Ollama ignores it): ``"none"`` answers as if the request had
  no tools (they are still validated), ``"required"`` lets the grammar admit only a call to
  one of the tools, ``{"type": "function", "function": {"name": N}}`` only a call to ``N``;
  a name not in ``tools``, or a required call without tools, is a 400.
- ``max_completion_tokens`` is honoured like ``max_tokens`` (Ollama ignores it); both with
  different values is a 400.
- A 400 instead of silently ignored: ``n`` other than 1, a non-empty ``logit_bias``,
  ``echo: true``, ``best_of`` above 1, a ``response_format`` type other than ``text``,
  ``json_object`` or ``json_schema``, a ``json_schema`` without a ``schema`` (Ollama then
  generates unconstrained), a non-string ``stop`` item on chat (Ollama drops it).
- What the native routes refuse is refused here too, in OpenAI's error shape: images,
  thinking (any ``reasoning_effort`` but ``"none"``), ``logprobs``, a ``suffix``.
- Unknown ``/v1`` paths and wrong methods answer an OpenAI error object (Ollama's router
  answers a text/plain 404); ``/v1/responses``, ``/v1/messages`` and
  ``/v1/audio/transcriptions`` are not served.
"""

from __future__ import annotations

import base64
import json
import random
import struct
import time
from datetime import datetime
from typing import Any

from . import protocol
from .models import ModelInfo
from .protocol import EmbedJob, GenerationJob, RequestError
from .tools import ToolsError, call_id, parse_tools

FINGERPRINT = "fp_ollama"
_ERROR_TYPES = {400: "invalid_request_error", 404: "not_found_error"}
_DONE = b"data: [DONE]\n\n"
_EFFORT_THINK: dict[str, Any] = {
    "none": False,
    "minimal": "low",
    "low": "low",
    "medium": "medium",
    "high": "high",
    "max": "max",
    "xhigh": "max",
    "ultra": "max",
}


def _dumps(obj: Any) -> str:
    return json.dumps(obj, separators=(",", ":"), ensure_ascii=False)


def _event(obj: dict[str, Any]) -> bytes:
    """One server-sent event."""
    return b"data: " + _dumps(obj).encode() + b"\n\n"


def error_object(status: int, message: str) -> dict[str, Any]:
    """Ollama's ``openai.NewError``: the type follows the status, param and code are null."""
    kind = _ERROR_TYPES.get(status, "api_error")
    return {"error": {"message": message, "type": kind, "param": None, "code": None}}


class OpenAIShape:
    """Errors as OpenAI error objects, streams as server-sent events (see app.NativeShape)."""

    stream_type = "text/event-stream"
    sse = True

    def whole(self, obj: dict[str, Any]) -> dict[str, Any]:
        return obj

    def chunk(self, obj: dict[str, Any]) -> bytes:
        return _event(obj)

    def error(self, status: int, message: str) -> dict[str, Any]:
        return error_object(status, message)

    def stream_error(self, status: int, message: str) -> bytes:
        """An error after the stream began: the event the OpenAI SDK raises ``APIError`` on."""
        return _event(error_object(status, message))


ERRORS = OpenAIShape()


def _usage(native: dict[str, Any]) -> dict[str, int]:
    prompt = int(native.get("prompt_eval_count") or 0)
    completion = int(native.get("eval_count") or 0)
    return {
        "prompt_tokens": prompt,
        "completion_tokens": completion,
        "total_tokens": prompt + completion,
    }


def _tool_calls(message: dict[str, Any]) -> list[dict[str, Any]]:
    """Native calls (arguments an object) as OpenAI's (arguments a JSON string)."""
    calls = []
    for i, call in enumerate(message.get("tool_calls") or ()):
        function = call["function"]
        calls.append(
            {
                "id": call.get("id") or call_id(),
                "index": function.get("index", i),
                "type": "function",
                "function": {
                    "name": function["name"],
                    "arguments": _dumps(function.get("arguments") or {}),
                },
            }
        )
    return calls


class ChatShape(OpenAIShape):
    """``/v1/chat/completions``: ``chat.completion`` or ``chat.completion.chunk`` events."""

    def __init__(self, model: str, include_usage: bool) -> None:
        self.id = f"chatcmpl-{random.randrange(999)}"
        self.model = model
        self.include_usage = include_usage
        self.created: int | None = None  # pinned for a whole stream, as OpenAI does
        self.role_sent = False
        self.tool_call_sent = False

    def _head(self, kind: str) -> dict[str, Any]:
        if self.created is None:
            self.created = int(time.time())
        return {"id": self.id, "object": kind, "created": self.created, "model": self.model}

    def whole(self, obj: dict[str, Any]) -> dict[str, Any]:
        native = obj.get("message") or {}
        message: dict[str, Any] = {"role": "assistant", "content": native.get("content", "")}
        calls = _tool_calls(native)
        if calls:
            message["tool_calls"] = calls
        reason = obj.get("done_reason") or None
        if reason == "stop" and calls:
            reason = "tool_calls"
        choice = {"index": 0, "message": message, "finish_reason": reason}
        body = self._head("chat.completion")
        body.update(system_fingerprint=FINGERPRINT, choices=[choice], usage=_usage(obj))
        return body

    def _chunk(self, choices: list[dict[str, Any]]) -> dict[str, Any]:
        body = self._head("chat.completion.chunk")
        body.update(system_fingerprint=FINGERPRINT, choices=choices)
        return body

    def chunk(self, obj: dict[str, Any]) -> bytes:
        native = obj.get("message") or {}
        content = native.get("content", "")
        calls = _tool_calls(native)
        done = bool(obj.get("done"))
        out = b""
        # The final native object carries no text: after a first chunk, Ollama goes
        # straight to the finish chunk (an empty completion still opens with the role).
        if not done or not self.role_sent or content or calls:
            delta: dict[str, Any] = {"role": "assistant"} if not self.role_sent else {}
            delta["content"] = content
            if calls:
                delta["tool_calls"] = calls
                self.tool_call_sent = True
            self.role_sent = True
            out += _event(self._chunk([{"index": 0, "delta": delta, "finish_reason": None}]))
        if not done:
            return out
        reason = obj.get("done_reason") or "stop"
        if reason == "stop" and self.tool_call_sent:
            reason = "tool_calls"
        out += _event(self._chunk([{"index": 0, "delta": {}, "finish_reason": reason}]))
        if self.include_usage:
            out += _event({**self._chunk([]), "usage": _usage(obj)})
        return out + _DONE


class CompletionShape(OpenAIShape):
    """``/v1/completions``: ``text_completion`` objects, one per native chunk when streamed."""

    def __init__(self, model: str, include_usage: bool) -> None:
        self.id = f"cmpl-{random.randrange(999)}"
        self.model = model
        self.include_usage = include_usage

    def _body(self, obj: dict[str, Any]) -> dict[str, Any]:
        reason = obj.get("done_reason") or None
        choice = {"text": obj.get("response", ""), "index": 0, "finish_reason": reason}
        return {
            "id": self.id,
            "object": "text_completion",
            "created": int(time.time()),
            "choices": [choice],
            "model": self.model,
            "system_fingerprint": FINGERPRINT,
        }

    def whole(self, obj: dict[str, Any]) -> dict[str, Any]:
        return {**self._body(obj), "usage": _usage(obj)}

    def chunk(self, obj: dict[str, Any]) -> bytes:
        body = self._body(obj)
        if self.include_usage:  # Ollama puts zeros on every chunk, then a usage chunk
            body["usage"] = _usage({})
        out = _event(body)
        if not obj.get("done"):
            return out
        if self.include_usage:
            out += _event({**body, "choices": [], "usage": _usage(obj)})
        return out + _DONE


class EmbeddingShape(OpenAIShape):
    """``/v1/embeddings``: a ``list`` of ``embedding`` objects, floats or base64."""

    def __init__(self, model: str, encoding: str) -> None:
        self.model = model
        self.base64 = encoding == "base64"

    def whole(self, obj: dict[str, Any]) -> dict[str, Any]:
        data = []
        for i, vector in enumerate(obj["embeddings"]):
            value: Any = vector
            if self.base64:  # little-endian float32, as Ollama's floatsToBase64
                value = base64.b64encode(struct.pack(f"<{len(vector)}f", *vector)).decode()
            data.append({"object": "embedding", "embedding": value, "index": i})
        tokens = int(obj.get("prompt_eval_count") or 0)
        usage = {"prompt_tokens": tokens, "total_tokens": tokens}
        return {"object": "list", "data": data, "model": self.model, "usage": usage}


# -- models -------------------------------------------------------------------------------
def _model(name: str, info: ModelInfo) -> dict[str, Any]:
    created = int(datetime.fromisoformat(info.modified_at).timestamp())
    owner = protocol.model_key(name)[1]  # the namespace, "library" by default
    return {"id": name, "object": "model", "created": created, "owned_by": owner}


def model_list(models: list[ModelInfo]) -> dict[str, Any]:
    """``GET /v1/models``: every listed model, by the name it is listed under."""
    return {"object": "list", "data": [_model(m.name, m) for m in models]}


def model_entry(name: str, info: ModelInfo) -> dict[str, Any]:
    """``GET /v1/models/{name}``: the model, under the name asked for (as Ollama echoes it)."""
    return _model(name, info)


# -- requests -----------------------------------------------------------------------------
def _typed(body: dict[str, Any], key: str, types: tuple[type, ...], what: str) -> Any:
    value = body.get(key)
    if value is None:
        return None
    if (isinstance(value, bool) and bool not in types) or not isinstance(value, types):
        raise RequestError(400, f"{key!r} must be {what}, got {value!r}")
    return value


_NUMBER = (int, float)


def _stop(body: dict[str, Any]) -> list[str] | None:
    stop = body.get("stop")
    if stop is None:
        return None
    items = [stop] if isinstance(stop, str) else stop
    if not isinstance(items, list) or not all(isinstance(s, str) for s in items):
        raise RequestError(400, f"'stop' must be a string or a list of strings, got {stop!r}")
    return [s for s in items if s]  # an empty stop string stops nothing


def _include_usage(body: dict[str, Any]) -> bool:
    options = body.get("stream_options")
    if options is None:
        return False
    if not isinstance(options, dict):
        raise RequestError(400, "'stream_options' must be an object")
    return bool(_typed(options, "include_usage", (bool,), "true or false"))


def _sampling_options(body: dict[str, Any], *, completion: bool) -> dict[str, Any]:
    """OpenAI's sampling fields as Ollama ``options``, with Ollama's /v1 defaults
    (temperature and top_p 1.0, not the native 0.8 and 0.9)."""
    for key, limit in (("n", 1), ("best_of", 1)):
        count = _typed(body, key, (int,), "an integer")
        if count is not None and count != limit:
            raise RequestError(400, f"'{key}' must be 1: this server returns one choice")
    if body.get("logit_bias"):
        raise RequestError(400, "'logit_bias' is not supported by this server: drop it")
    if body.get("echo"):
        raise RequestError(400, "'echo' is not supported by this server: drop it")
    options: dict[str, Any] = {}
    limit = _typed(body, "max_tokens", (int,), "an integer")
    newer = None if completion else _typed(body, "max_completion_tokens", (int,), "an integer")
    if limit is not None and newer is not None and limit != newer:
        raise RequestError(400, "'max_tokens' and 'max_completion_tokens' differ: send one")
    if newer is not None or limit is not None:
        options["num_predict"] = newer if newer is not None else limit
    seed = _typed(body, "seed", (int,), "an integer")
    if seed is not None:
        options["seed"] = seed
    stop = _stop(body)
    if stop is not None:
        options["stop"] = stop
    temperature = _typed(body, "temperature", _NUMBER, "a number")
    options["temperature"] = 1.0 if temperature is None else temperature
    top_p = _typed(body, "top_p", _NUMBER, "a number")
    # Ollama's /v1/completions reads top_p 0 as "unset", like an absent one.
    options["top_p"] = 1.0 if top_p is None or (completion and top_p == 0) else top_p
    for key in ("frequency_penalty", "presence_penalty"):
        value = _typed(body, key, _NUMBER, "a number")
        if value is not None:
            options[key] = value
    return options


def _format(body: dict[str, Any]) -> Any:
    """``response_format`` as the native ``format``: the one grammar path for both."""
    spec = body.get("response_format")
    if spec is None:
        return None
    if not isinstance(spec, dict):
        raise RequestError(400, "'response_format' must be an object with a 'type'")
    kind = str(spec.get("type", "")).strip().lower()
    if kind == "text":
        return None
    if kind == "json_object":
        return "json"
    if kind != "json_schema":
        raise RequestError(
            400,
            f"response_format.type must be 'text', 'json_object' or 'json_schema', got {kind!r}",
        )
    inner = spec.get("json_schema")
    schema = inner.get("schema") if isinstance(inner, dict) else None
    if not isinstance(schema, dict):
        raise RequestError(400, "response_format.json_schema.schema must be a JSON Schema object")
    return schema


def _think(body: dict[str, Any]) -> Any:
    reasoning = body.get("reasoning")
    effort = reasoning.get("effort") if isinstance(reasoning, dict) else None
    effort = effort or body.get("reasoning_effort")
    if effort is None or effort == "":
        return None
    if effort not in _EFFORT_THINK:
        raise RequestError(400, f"invalid reasoning value: {effort!r}")
    return _EFFORT_THINK[effort]


def _tool_choice(body: dict[str, Any]) -> tuple[bool, bool, str | None]:
    """``tool_choice`` as (tools offered, a call required, the one tool allowed)."""
    choice = body.get("tool_choice")
    if choice is None or choice == "auto":
        return True, False, None
    if choice == "none":
        return False, False, None
    if choice == "required":
        return True, True, None
    if isinstance(choice, dict) and choice.get("type") == "function":
        function = choice.get("function")
        name = function.get("name") if isinstance(function, dict) else None
        if isinstance(name, str) and name:
            return True, True, name
    raise RequestError(
        400,
        '\'tool_choice\' must be "none", "auto", "required" or '
        f'{{"type": "function", "function": {{"name": ...}}}}, got {choice!r}',
    )


def _arguments(call: Any, where: str) -> dict[str, Any]:
    """An assistant message's call with its arguments parsed from the JSON string."""
    if not isinstance(call, dict) or not isinstance(call.get("function"), dict):
        raise RequestError(400, f'{where} must be an object with a "function" object')
    function = call["function"]
    raw = function.get("arguments")
    try:
        arguments = json.loads(raw) if isinstance(raw, str) else None
    except ValueError:
        arguments = None
    if not isinstance(arguments, dict):
        raise RequestError(
            400, f"{where}.function.arguments: invalid tool call arguments (a JSON object string)"
        )
    native = {"function": {"name": function.get("name"), "arguments": arguments}}
    if call.get("id"):
        native["id"] = call["id"]
    return native


def _messages(raw: Any) -> list[dict[str, Any]]:
    """OpenAI messages as native ones: content parts split into messages, call arguments
    parsed, a tool result's ``tool_name`` from ``name`` or its ``tool_call_id``'s call."""
    if not isinstance(raw, list):
        raise RequestError(400, f"'messages' must be a list, got {type(raw).__name__}")
    if not raw:
        raise RequestError(400, "[] is too short - 'messages'")  # Ollama's wording
    names: dict[str, str] = {}  # call id -> tool name, from earlier assistant messages
    out: list[dict[str, Any]] = []
    for i, message in enumerate(raw):
        if not isinstance(message, dict):
            raise RequestError(400, f"messages[{i}] must be an object")
        role = message.get("role")
        raw_calls = message.get("tool_calls")
        if raw_calls is not None and not isinstance(raw_calls, list):
            raise RequestError(400, f"messages[{i}].tool_calls must be a list")
        calls = [
            _arguments(c, f"messages[{i}].tool_calls[{j}]") for j, c in enumerate(raw_calls or ())
        ]
        for call in calls:
            if call.get("id") and isinstance(call["function"]["name"], str):
                names[call["id"]] = call["function"]["name"]
        base: dict[str, Any] = {"role": role}
        if role == "tool":
            call_ref = message.get("tool_call_id")
            name = message.get("name") or (
                names.get(call_ref) if isinstance(call_ref, str) else None
            )
            if name:
                base["tool_name"] = name
            if call_ref is not None:
                base["tool_call_id"] = call_ref
        content = message.get("content")
        if isinstance(content, str):
            out.append({**base, "content": content})
        elif isinstance(content, list):
            for j, part in enumerate(content):
                out.append({**base, **_part(part, f"messages[{i}].content[{j}]")})
        elif content is not None or not calls:
            raise RequestError(
                400, f"messages[{i}].content must be a string or a list of content parts"
            )
        else:
            out.append({**base, "content": ""})
        if calls:
            out[-1]["tool_calls"] = calls
    return out


def _part(part: Any, where: str) -> dict[str, Any]:
    if not isinstance(part, dict):
        raise RequestError(400, f"{where} must be an object with a 'type'")
    kind = part.get("type")
    if kind == "text" and isinstance(part.get("text"), str):
        return {"content": part["text"]}
    if kind in ("image_url", "input_audio"):  # the native check refuses images
        return {"content": "", "images": [where]}
    raise RequestError(400, f"{where}: invalid message format (a text or image_url part)")


def parse_chat(body: dict[str, Any]) -> tuple[GenerationJob, ChatShape]:
    """``POST /v1/chat/completions`` as the native chat job, and the shape of its answer."""
    model = protocol.parse_model(body)
    stream = bool(_typed(body, "stream", (bool,), "true or false"))
    native: dict[str, Any] = {
        "model": model,
        "messages": _messages(body.get("messages")),
        "stream": stream,
        "options": _sampling_options(body, completion=False),
    }
    offered, required, only = _tool_choice(body)
    if offered:
        native["tools"] = body.get("tools")
    else:
        try:
            parse_tools(body.get("tools"))  # validated even when not offered
        except ToolsError as exc:
            raise RequestError(400, str(exc)) from None
    fmt = _format(body)
    if fmt is not None:
        native["format"] = fmt
    think = _think(body)
    if think is not None:
        native["think"] = think
    for key in ("logprobs", "top_logprobs"):
        if body.get(key) is not None:
            native[key] = body[key]
    job = protocol.parse_chat(native, required=required, only=only)
    return job, ChatShape(model, _include_usage(body))


def parse_completion(body: dict[str, Any]) -> tuple[GenerationJob, CompletionShape]:
    """``POST /v1/completions``: a single string ``prompt``, as Ollama takes it."""
    model = protocol.parse_model(body)
    prompt = body.get("prompt")
    if prompt is not None and not isinstance(prompt, str):
        raise RequestError(400, "'prompt' must be a string (lists of prompts or tokens are not)")
    logprobs = _typed(body, "logprobs", (int,), "an integer")
    native: dict[str, Any] = {
        "model": model,
        "prompt": prompt or "",
        "stream": bool(_typed(body, "stream", (bool,), "true or false")),
        "options": _sampling_options(body, completion=True),
        "suffix": _typed(body, "suffix", (str,), "a string"),
    }
    options = native["options"]
    options.setdefault("frequency_penalty", 0.0)
    options.setdefault("presence_penalty", 0.0)
    if logprobs:
        native.update(logprobs=True, top_logprobs=logprobs)
    job = protocol.parse_generate(native)
    return job, CompletionShape(model, _include_usage(body))


def parse_embeddings(body: dict[str, Any]) -> tuple[EmbedJob, EmbeddingShape]:
    """``POST /v1/embeddings``: ``input`` a string or a list of strings."""
    model = protocol.parse_model(body)
    encoding = _typed(body, "encoding_format", (str,), "a string") or "float"
    if encoding.lower() not in ("float", "base64"):
        raise RequestError(  # Ollama's wording
            400,
            f"Invalid value for 'encoding_format' = {encoding}. "
            "Supported values: ['float', 'base64'].",
        )
    raw = body.get("input")
    if raw == "":
        raw = [""]
    if raw is None or raw == []:
        raise RequestError(400, "invalid input")  # Ollama's wording
    native = {"model": model, "input": raw, "dimensions": body.get("dimensions")}
    job = protocol.parse_embed(native, legacy=False)
    return job, EmbeddingShape(model, encoding.lower())
