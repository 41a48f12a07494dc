"""One tool-agent run against the real model, as the tool tests take it."""

from __future__ import annotations

import asyncio
from typing import Any

from kaizen.tools import ToolLoopLimitError


def run_tool_agent(agent: Any, question: str, mode: str) -> tuple[list[Any], bool]:
    """The run's steps, and whether it answered. A base model may keep calling until
    max_steps: that ends as the typed, bounded ToolLoopLimitError, whose steps are kept."""
    try:
        if mode == "sync":
            result = agent.run(question=question)
        else:
            result = asyncio.run(agent.arun(question=question))
    except ToolLoopLimitError as exc:
        return list(exc.steps), False
    assert isinstance(result.answer, str)
    assert result.usage.total_tokens > 0
    return list(result.steps), True
