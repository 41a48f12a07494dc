"""AsyncLocalRuntime: independent nodes overlap, blocking nodes stay off the loop, and
failures carry partial results exactly as in the sync runtime."""

from __future__ import annotations

import asyncio
import threading
import traceback
from typing import Any

import pytest

from kaizen.errors import NodeExecutionError, WorkflowExecutionError, WorkflowValidationError
from kaizen.workflow import AsyncLocalRuntime, WorkflowBuilder

TIMEOUT = 10.0  # generous: the machine is shared and noisy; a pass takes milliseconds


def node(builder: WorkflowBuilder, node_id: str, fn: Any) -> None:
    builder.add_node("PythonCodeNode", node_id, {"function": fn})


async def execute(builder: WorkflowBuilder, parameters: Any = None, **kw: Any) -> Any:
    return await asyncio.wait_for(
        AsyncLocalRuntime().execute(builder.build(), parameters, **kw), TIMEOUT
    )


async def test_independent_async_nodes_run_concurrently() -> None:
    # Each node signals, then waits for the other's signal: run one after the other, the first
    # would wait forever (bounded here by wait_for), so success proves they overlapped.
    a_started, b_started = asyncio.Event(), asyncio.Event()

    async def left() -> str:
        a_started.set()
        await asyncio.wait_for(b_started.wait(), TIMEOUT / 2)
        return "left"

    async def right() -> str:
        b_started.set()
        await asyncio.wait_for(a_started.wait(), TIMEOUT / 2)
        return "right"

    builder = WorkflowBuilder()
    node(builder, "left", left)
    node(builder, "right", right)
    node(builder, "join", lambda a, b: a + "+" + b)
    builder.add_connection("left", "result", "join", "a")
    builder.add_connection("right", "result", "join", "b")
    results, run_id = await execute(builder)
    assert results["join"] == {"result": "left+right"}
    assert len(run_id) == 32


async def test_blocking_sync_node_does_not_stall_the_loop() -> None:
    released = threading.Event()

    def blocking() -> bool:
        return released.wait(TIMEOUT / 2)  # False if the async node never got to run

    async def releaser() -> str:
        released.set()
        return "set"

    builder = WorkflowBuilder()
    node(builder, "blocking", blocking)
    node(builder, "releaser", releaser)
    results, _ = await execute(builder)
    assert results == {"blocking": {"result": True}, "releaser": {"result": "set"}}


async def test_dependent_nodes_wait_for_inputs_and_results_follow_order() -> None:
    fast_done = asyncio.Event()

    async def slow() -> int:
        await asyncio.wait_for(fast_done.wait(), TIMEOUT / 2)
        return 1

    async def fast() -> int:
        fast_done.set()
        return 2

    builder = WorkflowBuilder()
    node(builder, "slow", slow)
    node(builder, "fast", fast)
    builder.add_node("MergeNode", "merge", {"strategy": "list"})
    builder.add_connection("slow", "result", "merge", "a")
    builder.add_connection("fast", "result", "merge", "b")
    results, _ = await execute(builder, run_id="given")
    assert list(results) == ["slow", "fast", "merge"]  # execution order, not completion order
    assert results["merge"] == {"merged": [1, 2]}
    assert (await execute(builder, run_id="given"))[1] == "given"


async def test_parameters_reach_async_nodes() -> None:
    async def inc(n: int) -> int:
        return n + 1

    builder = WorkflowBuilder()
    node(builder, "inc", inc)
    results, _ = await execute(builder, {"inc": {"n": 41}})
    assert results == {"inc": {"result": 42}}


async def test_failure_skips_downstream_and_keeps_independent_branch() -> None:
    async def bad(x: int) -> int:
        raise RuntimeError(f"bad {x}")

    builder = WorkflowBuilder()
    node(builder, "src", lambda: 1)
    node(builder, "bad", bad)
    node(builder, "after", lambda x: x)
    node(builder, "later", lambda x: x)
    node(builder, "side", lambda x: x * 10)
    node(builder, "both", lambda x, y: x + y)
    builder.add_connection("src", "result", "bad", "x")
    builder.add_connection("bad", "result", "after", "x")
    builder.add_connection("after", "result", "later", "x")
    builder.add_connection("src", "result", "side", "x")
    builder.add_connection("side", "result", "both", "x")
    builder.add_connection("bad", "result", "both", "y")
    with pytest.raises(WorkflowExecutionError) as info:
        await execute(builder, run_id="r")
    err = info.value
    assert err.run_id == "r"
    assert err.results == {"src": {"result": 1}, "side": {"result": 10}}
    assert list(err.errors) == ["bad"]
    assert isinstance(err.errors["bad"], NodeExecutionError)
    assert isinstance(err.errors["bad"].__cause__, RuntimeError)
    assert "bad 1" in str(err)
    assert sorted(err.skipped) == ["after", "both", "later"]


async def test_async_output_dict_and_non_mapping_failure() -> None:
    async def pair() -> list[int]:
        return [1, 2]

    builder = WorkflowBuilder()
    builder.add_node("PythonCodeNode", "p", {"function": pair, "output_dict": True})
    with pytest.raises(WorkflowExecutionError) as info:
        await execute(builder)
    assert isinstance(info.value.errors["p"].__cause__, TypeError)


async def test_not_built_builder_gets_a_hint() -> None:
    builder = WorkflowBuilder()
    with pytest.raises(TypeError, match=r"call \.build\(\)"):
        await AsyncLocalRuntime().execute(builder)  # type: ignore[arg-type]


async def test_parameters_for_unknown_node() -> None:
    builder = WorkflowBuilder()
    node(builder, "a", lambda: 1)
    with pytest.raises(WorkflowValidationError, match="unknown node 'nope'"):
        await AsyncLocalRuntime().execute(builder.build(), {"nope": {}})


async def test_concurrent_executions_of_one_workflow_do_not_mix() -> None:
    async def echo(v: int) -> int:
        await asyncio.sleep(0)
        return v

    builder = WorkflowBuilder()
    node(builder, "e", echo)
    wf = builder.build()
    runtime = AsyncLocalRuntime()
    runs = await asyncio.wait_for(
        asyncio.gather(*(runtime.execute(wf, {"e": {"v": i}}) for i in range(20))), TIMEOUT
    )
    assert [results["e"]["result"] for results, _ in runs] == list(range(20))
    assert len({run_id for _, run_id in runs}) == 20


@pytest.mark.parametrize("runtime", ["sync", "async"])
async def test_both_runtimes_wrap_a_node_failure_with_its_cause_and_traceback(
    runtime: str,
) -> None:
    from kaizen.errors import NodeExecutionError, WorkflowExecutionError
    from kaizen.workflow import AsyncLocalRuntime, LocalRuntime, WorkflowBuilder

    def boom() -> None:
        raise ValueError("bad value")

    wf = WorkflowBuilder()
    wf.add_node("PythonCodeNode", "a", {"function": boom})
    workflow = wf.build()
    with pytest.raises(WorkflowExecutionError) as info:
        if runtime == "sync":
            await asyncio.to_thread(LocalRuntime().execute, workflow)
        else:
            await AsyncLocalRuntime().execute(workflow)
    error = info.value.errors["a"]
    assert isinstance(error, NodeExecutionError) and isinstance(error.__cause__, ValueError)
    assert error.node_id == "a" and str(error) == "node 'a' failed: ValueError: bad value"
    assert error.__traceback__ is not None
    assert "boom" in [frame.name for frame in traceback.extract_tb(error.__traceback__)]
