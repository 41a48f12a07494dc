"""Find the JSON object in a model's text: plain JSON, a ```json fence, or the first
balanced `{...}` inside prose.

The brace scan tracks JSON string state (quotes and backslash escapes), so braces inside
string values do not unbalance it. It never repairs JSON: a malformed object is reported,
not guessed at.
"""

from __future__ import annotations

from typing import Any

_FENCE = "```"


class NoJSONObject(ValueError):
    """No JSON object could be extracted; the message says why."""


def extract_json_object(text: str) -> dict[str, Any]:
    """The first JSON object in `text`; NoJSONObject explaining what was found instead."""
    import json  # lazy: keeps `import kaizen.signatures` cheap

    stripped = text.strip()
    if not stripped:
        raise NoJSONObject("the output is empty")
    if stripped[0] == "{":
        try:
            value = json.loads(stripped)
        except ValueError:
            pass
        else:
            if isinstance(value, dict):
                return value
    fenced = _from_fences(text)
    if fenced is not None:
        return fenced
    return _from_braces(text)


def _from_fences(text: str) -> dict[str, Any] | None:
    import json

    start = text.find(_FENCE)
    while start != -1:
        body_start = text.find("\n", start + 3)
        if body_start == -1:
            return None
        header = text[start + 3 : body_start].strip()
        end = text.find(_FENCE, body_start)
        if end == -1:
            return None
        if header in ("", "json", "JSON", "json5"):
            try:
                value = json.loads(text[body_start:end])
            except ValueError:
                value = None
            if isinstance(value, dict):
                return value
        start = text.find(_FENCE, end + 3)
    return None


def _balanced_end(text: str, start: int) -> int:
    """Index just past the `}` closing the `{` at `start`, or -1 if it never closes."""
    depth = 0
    in_string = False
    escaped = False
    for i in range(start, len(text)):
        ch = text[i]
        if in_string:
            if escaped:
                escaped = False
            elif ch == "\\":
                escaped = True
            elif ch == '"':
                in_string = False
        elif ch == '"':
            in_string = True
        elif ch == "{":
            depth += 1
        elif ch == "}":
            depth -= 1
            if depth == 0:
                return i + 1
    return -1


def _from_braces(text: str) -> dict[str, Any]:
    import json

    start = text.find("{")
    if start == -1:
        raise NoJSONObject("no JSON object found (no '{' in the output)")
    problem = ""
    while start != -1:
        end = _balanced_end(text, start)
        if end == -1:
            problem = problem or (
                f"the '{{' at position {start} is never closed "
                "(was the output cut off by max_tokens?)"
            )
            start = text.find("{", start + 1)
            continue
        try:
            value = json.loads(text[start:end])
        except ValueError as exc:
            problem = problem or f"invalid JSON at position {start}: {exc}"
        else:
            if isinstance(value, dict):  # always true for a balanced {...}; keeps mypy exact
                return value
        # Skip the whole rejected candidate: an object nested in it is not the answer.
        start = text.find("{", end)
    raise NoJSONObject(f"no valid JSON object found: {problem}")
