"""Built-in nodes (PythonCodeNode, MergeNode) and custom nodes through @register_node."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import threading
from pathlib import Path
from typing import Any

import pytest

from kaizen.errors import WorkflowExecutionError, WorkflowValidationError
from kaizen.workflow import (
    AsyncLocalRuntime,
    LocalRuntime,
    Node,
    WorkflowBuilder,
    get_node_type,
    register_node,
    registered_node_types,
)

REPO = Path(__file__).resolve().parents[3]


def run_one(node_type: str, config: dict[str, Any], **inputs: Any) -> dict[str, Any]:
    builder = WorkflowBuilder()
    builder.add_node(node_type, "n", config)
    results, _ = LocalRuntime().execute(builder.build(), {"n": inputs})
    return results["n"]


def failure_of(node_type: str, config: dict[str, Any], **inputs: Any) -> BaseException:
    with pytest.raises(WorkflowExecutionError) as info:
        run_one(node_type, config, **inputs)
    cause = info.value.errors["n"].__cause__
    assert cause is not None
    return cause


# --- PythonCodeNode --------------------------------------------------------------------------


def test_function_result() -> None:
    assert run_one("PythonCodeNode", {"function": lambda a, b: a * b}, a=3, b=4) == {"result": 12}


def test_async_function_in_sync_runtime() -> None:
    async def fetch(n: int) -> int:
        return n + 1

    assert run_one("PythonCodeNode", {"function": fetch}, n=1) == {"result": 2}


def test_code_string_sees_inputs_and_builtins() -> None:
    out = run_one("PythonCodeNode", {"code": "result = len(items) * n"}, items=[1, 2, 3], n=2)
    assert out == {"result": 6}


def test_code_string_comprehension_sees_inputs() -> None:
    # Comprehensions and nested functions have their own scope: inputs must be visible there.
    code = "def scale(v):\n    return v * n\nresult = [scale(x) + n for x in items]"
    assert run_one("PythonCodeNode", {"code": code}, items=[1, 2], n=10) == {"result": [20, 30]}


def test_code_string_without_result_fails() -> None:
    cause = failure_of("PythonCodeNode", {"code": "value = 1"})
    assert isinstance(cause, NameError) and str(cause) == "code did not assign `result`"


def test_code_string_runs_are_isolated() -> None:
    builder = WorkflowBuilder()
    builder.add_node(
        "PythonCodeNode",
        "n",
        {"code": "counter = globals().get('counter', 0) + 1\nresult = counter"},
    )
    wf = builder.build()
    runtime = LocalRuntime()
    assert [runtime.execute(wf)[0]["n"]["result"] for _ in range(2)] == [1, 1]


def test_code_string_exception_is_node_failure() -> None:
    assert isinstance(failure_of("PythonCodeNode", {"code": "result = 1 / 0"}), ZeroDivisionError)


def test_output_dict_splits_a_mapping() -> None:
    builder = WorkflowBuilder()
    builder.add_node(
        "PythonCodeNode", "split", {"function": lambda: {"lo": 1, "hi": 9}, "output_dict": True}
    )
    builder.add_node("PythonCodeNode", "span", {"function": lambda lo, hi: hi - lo})
    builder.add_connection("split", "lo", "span", "lo")
    builder.add_connection("split", "hi", "span", "hi")
    results, _ = LocalRuntime().execute(builder.build())
    assert results == {"split": {"lo": 1, "hi": 9}, "span": {"result": 8}}


def test_output_dict_needs_a_mapping() -> None:
    cause = failure_of("PythonCodeNode", {"function": lambda: [1], "output_dict": True})
    assert isinstance(cause, TypeError) and "needs a mapping result, got list" in str(cause)


# --- MergeNode -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("strategy", "inputs", "merged"),
    [
        (None, {"b": {"k": 2, "z": 0}, "a": {"k": 1, "y": 1}}, {"k": 2, "y": 1, "z": 0}),
        ("dict", {"a": {"k": 1}, "b": {}}, {"k": 1}),
        ("list", {"b": 2, "a": 1, "c": None}, [1, 2, None]),
        ("concat", {"b": (3,), "a": [1, 2]}, [1, 2, 3]),
        ("concat", {}, []),
        ("list", {}, []),
    ],
)
def test_merge_strategies(strategy: str | None, inputs: dict[str, Any], merged: Any) -> None:
    config = {} if strategy is None else {"strategy": strategy}
    assert run_one("MergeNode", config, **inputs) == {"merged": merged}


@pytest.mark.parametrize(
    ("strategy", "inputs", "fragment"),
    [
        ("dict", {"a": {"k": 1}, "b": [1]}, "dict merge needs mappings; input 'b' is list"),
        ("concat", {"a": [1], "b": "xy"}, "concat needs sequences; input 'b' is str"),
        ("concat", {"a": 5}, "concat needs sequences; input 'a' is int"),
        ("concat", {"a": b"xy"}, "input 'a' is bytes"),
    ],
)
def test_merge_errors(strategy: str, inputs: dict[str, Any], fragment: str) -> None:
    cause = failure_of("MergeNode", {"strategy": strategy}, **inputs)
    assert isinstance(cause, TypeError) and fragment in str(cause)


def test_merge_fan_in_from_connections() -> None:
    builder = WorkflowBuilder()
    builder.add_node("PythonCodeNode", "x", {"function": lambda: [1]})
    builder.add_node("PythonCodeNode", "y", {"function": lambda: [2, 3]})
    builder.add_node("MergeNode", "m", {"strategy": "concat"})
    builder.add_connection("y", "result", "m", "second")
    builder.add_connection("x", "result", "m", "first")
    assert LocalRuntime().execute(builder.build())[0]["m"] == {"merged": [1, 2, 3]}


# --- custom nodes ----------------------------------------------------------------------------


@pytest.mark.usefixtures("node_registry")
def test_register_custom_node_and_run_it() -> None:
    @register_node
    class Scale(Node):
        config_keys = frozenset({"factor"})
        required_config = frozenset({"factor"})
        outputs = ("scaled",)

        def run(self, **inputs: Any) -> dict[str, Any]:
            return {"scaled": inputs["x"] * self.config["factor"]}

    assert "Scale" in registered_node_types() and get_node_type("Scale") is Scale
    assert Scale.node_type == "Scale"
    assert run_one("Scale", {"factor": 3}, x=2) == {"scaled": 6}

    builder = WorkflowBuilder()
    builder.add_node("Scale", "s")
    with pytest.raises(WorkflowValidationError, match="missing required config factor"):
        builder.build()

    builder = WorkflowBuilder()
    builder.add_node("Scale", "s", {"factor": 1})
    builder.add_node("Scale", "t", {"factor": 1})
    builder.add_connection("s", "result", "t", "x")
    with pytest.raises(WorkflowValidationError, match=r"no output 'result' \(outputs: scaled\)"):
        builder.build()


@pytest.mark.usefixtures("node_registry")
def test_register_under_explicit_name() -> None:
    @register_node(name="Renamed")
    class Inner(Node):
        def run(self, **inputs: Any) -> dict[str, Any]:
            return {"ok": True}

    assert get_node_type("Renamed") is Inner and Inner.node_type == "Renamed"
    assert "Inner" not in registered_node_types()


@pytest.mark.usefixtures("node_registry")
def test_duplicate_registration_needs_replace() -> None:
    @register_node(name="Twin")
    class First(Node):
        pass

    register_node(First, name="Twin")  # the same class again is harmless

    class Second(Node):
        pass

    with pytest.raises(
        ValueError, match=r"'Twin' is already registered to .*First; pass replace=True"
    ):
        register_node(Second, name="Twin")
    assert get_node_type("Twin") is First
    register_node(Second, name="Twin", replace=True)
    assert get_node_type("Twin") is Second


@pytest.mark.usefixtures("node_registry")
def test_builtin_replace_requires_flag() -> None:
    class MyMerge(Node):
        pass

    with pytest.raises(ValueError, match="already registered"):
        register_node(MyMerge, name="MergeNode")


@pytest.mark.parametrize("thing", [object, int, "Node", None.__class__])
def test_register_node_needs_node_subclass(thing: Any) -> None:
    with pytest.raises(TypeError, match="needs a Node subclass"):
        register_node(thing)


@pytest.mark.usefixtures("node_registry")
async def test_default_arun_runs_blocking_run_off_the_loop_with_the_inputs() -> None:
    @register_node(name="WhereAmI")
    class WhereAmI(Node):
        outputs = ("thread", "twice")

        def run(self, **inputs: Any) -> dict[str, Any]:
            return {"thread": threading.get_ident(), "twice": inputs["n"] * 2}

    out = await WhereAmI("w", {}).arun(n=21)
    assert out["thread"] != threading.get_ident()
    assert out["twice"] == 42


def test_base_node_run_is_abstract() -> None:
    with pytest.raises(NotImplementedError):
        Node("n", {}).run()


def test_custom_node_registered_before_builtins_are_loaded() -> None:
    # Fresh interpreter: registering a custom node first must not hide the built-ins.
    script = (
        "from kaizen.workflow import Node, WorkflowBuilder, register_node\n"
        "@register_node\n"
        "class Early(Node):\n"
        "    outputs = ('x',)\n"
        "b = WorkflowBuilder()\n"
        "b.add_node('PythonCodeNode', 'a', {'function': len})\n"
        "b.add_node('Early', 'e')\n"
        "print(sorted(n for n in b.build().nodes))\n"
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYTEST")}
    proc = subprocess.run(
        [sys.executable, "-c", script],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "['a', 'e']"


def _async_run(config: dict[str, Any], **inputs: Any) -> dict[str, Any]:
    builder = WorkflowBuilder()
    builder.add_node("PythonCodeNode", "n", config)
    results, _ = asyncio.run(AsyncLocalRuntime().execute(builder.build(), {"n": inputs}))
    return results["n"]


def test_callables_that_are_not_plain_functions_run_in_both_runtimes() -> None:
    from functools import partial

    add = partial(lambda a, b: a + b, b=10)
    assert run_one("PythonCodeNode", {"function": add}, a=1) == {"result": 11}
    assert run_one("PythonCodeNode", {"function": dict}, a=7) == {"result": {"a": 7}}
    assert _async_run({"function": add}, a=2) == {"result": 12}


def test_an_async_bound_method_is_awaited_in_both_runtimes() -> None:
    class Service:
        def __init__(self) -> None:
            self.base = 40

        async def fetch(self, n: int) -> int:
            return self.base + n

    method = Service().fetch
    assert run_one("PythonCodeNode", {"function": method}, n=2) == {"result": 42}
    assert _async_run({"function": method}, n=1) == {"result": 41}


def test_code_string_runs_in_the_async_runtime() -> None:
    assert _async_run({"code": "result = n + 1"}, n=1) == {"result": 2}


def test_async_function_under_the_sync_runtime_inside_a_running_loop_says_what_to_use() -> None:
    async def fetch() -> int:
        return 1

    async def main() -> BaseException:
        with pytest.raises(WorkflowExecutionError) as info:
            run_one("PythonCodeNode", {"function": fetch})
        cause = info.value.errors["n"].__cause__
        assert cause is not None
        return cause

    cause = asyncio.run(main())
    assert isinstance(cause, RuntimeError)
    assert str(cause) == (
        "this node wraps an async function and an event loop is already running; "
        "execute the workflow with AsyncLocalRuntime instead of LocalRuntime"
    )
