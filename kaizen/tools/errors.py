"""Tool errors: a bad definition fails when the tool is made; a bad call is data for the model.

Why two families: a definition error is the programmer's (raised at `@tool` / `create_agent`
time, naming the parameter and the fix); argument, timeout and execution errors happen
mid-run and become tool error messages the model sees, never a crashed run.
"""

from __future__ import annotations

from collections.abc import Sequence

from kaizen.errors import FieldError, KaizenError


class ToolError(KaizenError):
    """Base of the tool errors; `tool` names the tool concerned."""

    def __init__(self, tool: str, message: str) -> None:
        super().__init__(message)
        self.tool = tool


class ToolDefinitionError(ToolError, TypeError):
    """A callable cannot be a tool as written (unannotated parameter, *args, bad type...)."""


class ToolArgumentsError(ToolError, ValueError):
    """The model's arguments do not match the tool's schema; `errors` lists every field."""

    def __init__(self, tool: str, errors: Sequence[FieldError], arguments: object) -> None:
        self.errors = tuple(errors)
        self.arguments = arguments
        detail = "; ".join(str(e) for e in self.errors)
        super().__init__(tool, f"invalid arguments for tool {tool!r}: {detail}")


class ToolTimeoutError(ToolError, TimeoutError):
    """The tool did not return within its timeout."""

    def __init__(self, tool: str, timeout_s: float) -> None:
        super().__init__(tool, f"tool {tool!r} did not return within {timeout_s:g}s")
        self.timeout_s = timeout_s


class ToolExecutionError(ToolError):
    """The tool raised; `cause` is the exception (also chained as __cause__)."""

    def __init__(self, tool: str, cause: BaseException) -> None:
        super().__init__(tool, f"tool {tool!r} raised {type(cause).__name__}: {cause}")
        self.cause = cause


class UnknownToolError(ToolError, LookupError):
    """The model asked for a tool the agent does not have."""

    def __init__(self, tool: str, known: Sequence[str]) -> None:
        listed = ", ".join(known) if known else "none"
        super().__init__(tool, f"unknown tool {tool!r}; available tools: {listed}")
        self.known = tuple(known)
