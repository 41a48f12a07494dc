"""Tools: plain Python callables an agent's model may ask to run."""

from kaizen.tools.errors import (
    ToolArgumentsError,
    ToolDefinitionError,
    ToolError,
    ToolExecutionError,
    ToolTimeoutError,
    UnknownToolError,
)
from kaizen.tools.loop import ModelStep, ToolLoopLimitError, ToolStep
from kaizen.tools.tool import Tool, as_tool, render_result, tool

__all__ = [
    "ModelStep",
    "Tool",
    "ToolArgumentsError",
    "ToolDefinitionError",
    "ToolError",
    "ToolExecutionError",
    "ToolLoopLimitError",
    "ToolStep",
    "ToolTimeoutError",
    "UnknownToolError",
    "as_tool",
    "render_result",
    "tool",
]
