"""Timed sync tools run on a named daemon thread, and every timeout names its tool.

Why: a timed-out sync tool cannot be killed, so it must run on a daemon thread (it may
never hold the process open) that is findable by name (`kaizen-tool-<name>`) in a thread
dump. Its result or error must reach the caller, sync or async, and a tool finishing
after the async caller's loop closed must end quietly. Each of the three timeout paths
(sync tool, sync tool awaited, async tool called sync) raises a ToolTimeoutError naming
the tool and its limit.
"""

from __future__ import annotations

import asyncio
import threading

import pytest

from kaizen.tools import ToolExecutionError, ToolTimeoutError, tool


def test_a_timed_sync_tool_call_runs_on_a_named_daemon_thread() -> None:
    seen: list[threading.Thread] = []

    @tool(timeout=5)
    def probe(x: int) -> int:
        seen.append(threading.current_thread())
        return x * 2

    assert probe.call({"x": 4}) == 8
    (thread,) = seen
    assert thread is not threading.current_thread()
    assert thread.name == "kaizen-tool-probe" and thread.daemon is True


def test_a_timed_sync_tool_awaited_runs_on_a_named_daemon_thread() -> None:
    seen: list[threading.Thread] = []

    @tool(timeout=2)
    def probe(x: int) -> int:
        seen.append(threading.current_thread())
        return x * 2

    assert asyncio.run(probe.acall({"x": 4})) == 8
    (thread,) = seen
    assert thread is not threading.current_thread()
    assert thread.name == "kaizen-tool-probe" and thread.daemon is True


def test_an_awaited_sync_tool_error_reaches_the_awaiting_caller() -> None:
    @tool(timeout=2)
    def broken() -> int:
        raise ValueError("bad input")

    with pytest.raises(ToolExecutionError, match=r"^tool 'broken' raised ValueError: bad input$"):
        asyncio.run(broken.acall({}))


def test_a_tool_finishing_after_its_loop_closed_ends_quietly(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The result has no loop to go to: the thread drops it, no unhandled exception."""
    failures: list[threading.ExceptHookArgs] = []
    monkeypatch.setattr(threading, "excepthook", failures.append)
    release, seen = threading.Event(), []

    @tool(timeout=0.05)
    def slow() -> str:
        seen.append(threading.current_thread())
        release.wait(5)
        return "late"

    try:
        with pytest.raises(ToolTimeoutError):
            asyncio.run(slow.acall({}))
    finally:
        release.set()
    (thread,) = seen
    thread.join(5)
    assert not thread.is_alive()
    assert failures == []


def test_a_sync_tool_timeout_names_the_tool_and_limit() -> None:
    release = threading.Event()

    @tool(timeout=0.05)
    def hang() -> str:
        release.wait(5)
        return "late"

    try:
        with pytest.raises(
            ToolTimeoutError, match=r"^tool 'hang' did not return within 0\.05s$"
        ) as info:
            hang.call({})
    finally:
        release.set()
    assert info.value.tool == "hang" and info.value.timeout_s == 0.05


def test_an_awaited_sync_tool_timeout_names_the_tool_and_limit() -> None:
    release = threading.Event()

    @tool(timeout=0.05)
    def hang() -> str:
        release.wait(5)
        return "late"

    try:
        with pytest.raises(ToolTimeoutError, match=r"^tool 'hang' did not return") as info:
            asyncio.run(hang.acall({}))
    finally:
        release.set()
    assert info.value.tool == "hang" and info.value.timeout_s == 0.05


def test_an_async_tool_called_sync_times_out_naming_the_tool() -> None:
    @tool(timeout=0.05)
    async def stall() -> str:
        await asyncio.Event().wait()
        return "never"

    with pytest.raises(ToolTimeoutError, match=r"^tool 'stall' did not return") as info:
        stall.call({})
    assert info.value.tool == "stall" and info.value.timeout_s == 0.05
