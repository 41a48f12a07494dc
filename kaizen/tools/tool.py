"""A tool: a plain Python callable whose type hints are its JSON Schema.

Why the signature type system: a tool's parameters are a signature's inputs (the same
closed set of types, the same strict validation that names every bad field), so a tool and
a signature can never disagree on what `list[str] | None` means.
"""

from __future__ import annotations

import asyncio
import contextlib
import inspect
import json
import re
import threading
from collections.abc import Awaitable, Callable, Mapping
from typing import Any, TypeVar, overload

from kaizen.errors import SignatureError, SignatureValidationError
from kaizen.signatures.compiler import CompiledSignature
from kaizen.signatures.fields import INPUT, MISSING, OUTPUT, FieldSpec
from kaizen.signatures.typespec import SCALAR_SPECS, STR, from_annotation
from kaizen.tools.errors import (
    ToolArgumentsError,
    ToolDefinitionError,
    ToolExecutionError,
    ToolTimeoutError,
)

F = TypeVar("F", bound=Callable[..., Any])
_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_-]{0,63}")
_ARGS_HEADER = re.compile(r"^\s*(Args|Arguments|Parameters):\s*$")
_ARG_LINE = re.compile(r"^\s+(\*{0,2}\w+)(?:\s*\([^)]*\))?:\s*(.*)$")


class Tool:
    """A callable the model may ask for, with its schema and a validated way to call it."""

    __slots__ = ("_args", "description", "function", "is_async", "name", "timeout")

    name: str
    """What the model calls it (the function's name unless `@tool(name=...)`)."""
    description: str
    """What the model reads: the docstring's first paragraph unless given."""
    function: Callable[..., Any]
    """The wrapped callable, unchanged: a tool stays callable as plain Python."""
    timeout: float | None
    """Seconds a call may take; None waits for as long as the tool runs."""
    is_async: bool
    _args: CompiledSignature

    def __init__(
        self,
        function: Callable[..., Any],
        *,
        name: str | None = None,
        description: str | None = None,
        timeout: float | None = None,
    ) -> None:
        if not callable(function):
            raise ToolDefinitionError(str(function), f"a tool must be callable, got {function!r}")
        name = name or getattr(function, "__name__", None) or type(function).__name__
        if not _NAME.fullmatch(name):
            raise ToolDefinitionError(
                name,
                f"tool name {name!r} must be 1-64 characters of letters, digits, '_' or '-' "
                "and start with a letter or '_'; pass @tool(name=...)",
            )
        if timeout is not None and not timeout > 0:
            raise ToolDefinitionError(name, f"tool {name!r}: timeout must be > 0, got {timeout}")
        summary, arg_docs = _parse_docstring(inspect.getdoc(function) or "")
        self.name = name
        self.description = (description if description is not None else summary).strip()
        self.function = function
        self.timeout = timeout
        self.is_async = inspect.iscoroutinefunction(function) or inspect.iscoroutinefunction(
            getattr(function, "__call__", None)  # noqa: B004 - callable objects
        )
        self._args = _compile_parameters(name, self.description, function, arg_docs)

    def __repr__(self) -> str:
        return f"Tool({self.name!r}, {self._args.text.split(' ->')[0]!r})"

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        return self.function(*args, **kwargs)

    @property
    def parameters(self) -> Mapping[str, Any]:
        """The arguments' JSON Schema (an object; read-only)."""
        return self._args.input_schema

    def schema(self) -> dict[str, Any]:
        """The OpenAI/Ollama function-tool description sent to the model."""
        return {
            "type": "function",
            "function": {
                "name": self.name,
                "description": self.description,
                "parameters": _thaw(self.parameters),
            },
        }

    def validate(self, arguments: Any) -> dict[str, Any]:
        """Checked arguments (defaults filled in); ToolArgumentsError names every bad field.

        A JSON string is accepted too: the OpenAI wire format sends arguments as text.
        """
        if isinstance(arguments, str):
            try:
                arguments = json.loads(arguments) if arguments.strip() else {}
            except json.JSONDecodeError as exc:
                from kaizen.errors import FieldError

                bad = FieldError("arguments", f"not valid JSON ({exc.msg})", arguments)
                raise ToolArgumentsError(self.name, [bad], arguments) from None
        if arguments is None:
            arguments = {}
        try:
            return self._args.validate_inputs(arguments)
        except SignatureValidationError as exc:
            raise ToolArgumentsError(self.name, exc.errors, arguments) from None

    def call(self, arguments: Any) -> Any:
        """Validate, then run synchronously within the timeout; typed errors only."""
        values = self.validate(arguments)
        if self.is_async:
            return _run_coroutine(self, values)
        if self.timeout is None:
            return self._invoke(values)
        return _in_thread(self, values)

    async def acall(self, arguments: Any) -> Any:
        """Validate, then await (async tools) or run in a thread (sync ones, when timed)."""
        values = self.validate(arguments)
        if not self.is_async and self.timeout is None:
            return self._invoke(values)
        if self.is_async:
            awaitable: Awaitable[Any] = self._invoke_async(values)
        else:
            awaitable = _in_daemon_thread(self, values)
        try:
            return await asyncio.wait_for(awaitable, self.timeout)
        except TimeoutError:
            assert self.timeout is not None
            raise ToolTimeoutError(self.name, self.timeout) from None

    def _invoke(self, values: dict[str, Any]) -> Any:
        try:
            return self.function(**values)
        except Exception as exc:
            raise ToolExecutionError(self.name, exc) from exc

    async def _invoke_async(self, values: dict[str, Any]) -> Any:
        try:
            return await self.function(**values)
        except Exception as exc:
            raise ToolExecutionError(self.name, exc) from exc


@overload
def tool(function: F, /) -> Tool: ...


@overload
def tool(
    *, name: str | None = None, description: str | None = None, timeout: float | None = None
) -> Callable[[F], Tool]: ...


def tool(
    function: Callable[..., Any] | None = None,
    /,
    *,
    name: str | None = None,
    description: str | None = None,
    timeout: float | None = None,
) -> Tool | Callable[[Callable[..., Any]], Tool]:
    """Make a Tool of a function (optional: agents accept plain callables too)."""
    if function is not None:
        return Tool(function, name=name, description=description, timeout=timeout)

    def decorate(fn: Callable[..., Any]) -> Tool:
        return Tool(fn, name=name, description=description, timeout=timeout)

    return decorate


def as_tool(obj: Tool | Callable[..., Any]) -> Tool:
    """A Tool as is; any other callable made into one."""
    return obj if isinstance(obj, Tool) else Tool(obj)


def render_result(value: Any) -> str:
    """The text the model reads back: JSON where the value is JSON-able, else str()."""
    if isinstance(value, str):
        return value
    try:
        return json.dumps(value, ensure_ascii=False, default=_json_default)
    except (TypeError, ValueError):
        return str(value)


# -- internals -----------------------------------------------------------------------------
def _json_default(value: Any) -> Any:
    if isinstance(value, set | frozenset | tuple):
        return list(value)
    raise TypeError(type(value).__name__)


def _thaw(value: Any) -> Any:
    """A plain, mutable copy of a frozen schema (clients may serialise or edit it)."""
    if isinstance(value, Mapping):
        return {k: _thaw(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_thaw(v) for v in value]
    return value


def _parse_docstring(doc: str) -> tuple[str, dict[str, str]]:
    """First paragraph, and per-parameter text from a Google-style `Args:` section."""
    summary = doc.split("\n\n", 1)[0].strip() if doc else ""
    args: dict[str, str] = {}
    current: str | None = None
    inside = False
    for line in doc.splitlines():
        if _ARGS_HEADER.match(line):
            inside, current = True, None
            continue
        if not inside:
            continue
        if line.strip() and not line.startswith((" ", "\t")):
            inside = False  # the next section (Returns:, Raises:, ...)
            continue
        match = _ARG_LINE.match(line)
        if match and (current is None or len(line) - len(line.lstrip()) <= 4):
            current = match.group(1).lstrip("*")
            args[current] = match.group(2).strip()
        elif current is not None and line.strip():
            args[current] = f"{args[current]} {line.strip()}".strip()
    return summary, args


def _compile_parameters(
    name: str, description: str, function: Callable[..., Any], docs: Mapping[str, str]
) -> CompiledSignature:
    try:
        sig = inspect.signature(function)
        hints = _hints(function)
    except (TypeError, ValueError, NameError) as exc:
        raise ToolDefinitionError(
            name, f"tool {name!r}: cannot read its signature ({exc})"
        ) from None
    fields = []
    for param in sig.parameters.values():
        where = f"tool {name!r}, parameter {param.name!r}"
        if param.kind in (param.VAR_POSITIONAL, param.VAR_KEYWORD):
            raise ToolDefinitionError(
                name, f"{where}: *args/**kwargs cannot be described to a model; name each one"
            )
        if param.kind is param.POSITIONAL_ONLY:
            raise ToolDefinitionError(
                name, f"{where}: positional-only parameters cannot be passed by name; drop '/'"
            )
        if param.name not in hints:
            raise ToolDefinitionError(
                name, f"{where} has no type hint; annotate it (e.g. {param.name}: str)"
            )
        try:
            spec = from_annotation(hints[param.name])
            default = MISSING if param.default is param.empty else param.default
            fields.append(
                FieldSpec(param.name, INPUT, spec, docs.get(param.name, ""), default=default)
            )
        except SignatureError as exc:
            raise ToolDefinitionError(name, f"{where}: {exc}") from None
    result = FieldSpec("result", OUTPUT, SCALAR_SPECS[STR])
    return CompiledSignature(name, description or None, tuple(fields), (result,))


def _hints(function: Callable[..., Any]) -> dict[str, Any]:
    import typing

    target = function if inspect.isroutine(function) else type(function).__call__
    return typing.get_type_hints(target, include_extras=False)


def _in_thread(tool: Tool, values: dict[str, Any]) -> Any:
    """Run a sync tool with a timeout. The thread cannot be killed: a timed-out tool keeps
    running in the background (a daemon thread) while the run goes on."""
    outcome: list[Any] = []

    def target() -> None:
        try:
            outcome.append((True, tool._invoke(values)))
        except BaseException as exc:  # delivered to the caller below
            outcome.append((False, exc))

    worker = threading.Thread(target=target, name=f"kaizen-tool-{tool.name}", daemon=True)
    worker.start()
    worker.join(tool.timeout)
    if not outcome:
        assert tool.timeout is not None
        raise ToolTimeoutError(tool.name, tool.timeout)
    ok, value = outcome[0]
    if ok:
        return value
    raise value


def _in_daemon_thread(tool: Tool, values: dict[str, Any]) -> asyncio.Future[Any]:
    """A sync tool on a daemon thread, as a future of the running loop.

    Why not asyncio.to_thread: its executor is joined when the loop closes, so one timed-out
    tool would hold `asyncio.run` open until the tool finally returned.
    """
    loop = asyncio.get_running_loop()
    future: asyncio.Future[Any] = loop.create_future()

    def settle(ok: bool, value: Any) -> None:
        if not future.done():
            (future.set_result if ok else future.set_exception)(value)

    def target() -> None:
        try:
            outcome: tuple[bool, Any] = (True, tool._invoke(values))
        except BaseException as exc:  # delivered to the awaiting task
            outcome = (False, exc)
        with contextlib.suppress(RuntimeError):  # the loop closed while the tool ran
            loop.call_soon_threadsafe(settle, *outcome)

    threading.Thread(target=target, name=f"kaizen-tool-{tool.name}", daemon=True).start()
    return future


def _run_coroutine(tool: Tool, values: dict[str, Any]) -> Any:
    async def bounded() -> Any:
        try:
            return await asyncio.wait_for(tool._invoke_async(values), tool.timeout)
        except TimeoutError:
            assert tool.timeout is not None
            raise ToolTimeoutError(tool.name, tool.timeout) from None

    return asyncio.run(bounded())
