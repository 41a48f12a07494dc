"""Runtimes execute a built `Workflow`. Sync runs nodes in order; async runs every node as
soon as its inputs exist, so independent branches overlap. Both never report a failed node
as success: they raise `WorkflowExecutionError` with the partial results."""

from __future__ import annotations

import asyncio
import os
from collections.abc import Mapping
from typing import Any

from kaizen.errors import (
    NodeExecutionError,
    OutputPathError,
    WorkflowExecutionError,
    WorkflowValidationError,
)
from kaizen.workflow.graph import Connection, Workflow

Results = dict[str, dict[str, Any]]


def _check(workflow: Any, parameters: Mapping[str, Mapping[str, Any]] | None) -> None:
    if not isinstance(workflow, Workflow):
        hint = "; call .build() on the WorkflowBuilder first" if hasattr(workflow, "build") else ""
        raise TypeError(f"execute() needs a built Workflow, got {type(workflow).__name__}{hint}")
    if parameters:
        for node_id, params in parameters.items():
            if node_id not in workflow.nodes:
                raise WorkflowValidationError(
                    f"parameters given for unknown node {node_id!r} "
                    f"(nodes: {', '.join(workflow.order)})"
                )
            if not isinstance(params, Mapping):
                raise WorkflowValidationError(
                    f"parameters for node {node_id!r} must be a mapping, got "
                    f"{type(params).__name__}"
                )
            for conn in workflow.incoming[node_id]:
                if conn.target_input in params:
                    raise WorkflowValidationError(
                        f"input {node_id}.{conn.target_input} is given as a parameter and is "
                        f"also fed by connection {conn}; remove one of them"
                    )


def _inputs_for(
    workflow: Workflow,
    node_id: str,
    results: Results,
    parameters: Mapping[str, Mapping[str, Any]] | None,
) -> dict[str, Any]:
    inputs = dict(parameters[node_id]) if parameters and node_id in parameters else {}
    for conn in workflow.incoming[node_id]:
        produced = results[conn.source]
        if len(conn.path) > 1:
            inputs[conn.target_input] = _follow(conn, produced)
            continue
        try:
            inputs[conn.target_input] = produced[conn.source_output]
        except KeyError:
            inputs[conn.target_input] = _follow(conn, produced)  # raises the typed error
    return inputs


def _follow(conn: Connection, produced: Mapping[str, Any]) -> Any:
    """Walk a dotted output path through nested mappings (a dot always means a path, never
    part of a key). A missing key or a non-mapping on the way is an `OutputPathError`,
    never a silent None."""
    value: Any = produced
    for depth, key in enumerate(conn.path):
        if not isinstance(value, Mapping):
            raise OutputPathError(
                conn.source,
                conn.source_output,
                ".".join(conn.path[:depth]),
                key,
                None,
                type(value).__name__,
            )
        try:
            value = value[key]
        except KeyError:
            raise OutputPathError(
                conn.source, conn.source_output, ".".join(conn.path[:depth]), key, list(value)
            ) from None
    return value


def _check_output(node_id: str, output: Any) -> dict[str, Any]:
    if not isinstance(output, dict):
        raise TypeError(f"node {node_id!r} returned {type(output).__name__}, expected a dict")
    return output


def _node_error(node_id: str, exc: Exception) -> NodeExecutionError:
    """The same wrapper from both runtimes: the node's id, the cause, its traceback."""
    error = NodeExecutionError(node_id, exc).with_traceback(exc.__traceback__)
    error.__cause__ = exc
    return error


def _new_run_id() -> str:
    """128 random bits as 32 hex digits (like uuid4().hex, without building a UUID)."""
    return os.urandom(16).hex()


class LocalRuntime:
    """Executes a workflow in the calling thread, node by node in topological order."""

    __slots__ = ()

    def execute(
        self,
        workflow: Workflow,
        parameters: Mapping[str, Mapping[str, Any]] | None = None,
        *,
        run_id: str | None = None,
    ) -> tuple[Results, str]:
        _check(workflow, parameters)
        run_id = run_id or _new_run_id()
        results: Results = {}
        errors: dict[str, BaseException] = {}
        skipped: list[str] = []
        for node_id in workflow.order:
            if errors and not workflow.predecessors[node_id].isdisjoint(errors.keys() | skipped):
                skipped.append(node_id)
                continue
            try:
                inputs = _inputs_for(workflow, node_id, results, parameters)
                results[node_id] = _check_output(node_id, workflow.nodes[node_id].run(**inputs))
            except Exception as exc:
                errors[node_id] = _node_error(node_id, exc)
        if errors:
            raise WorkflowExecutionError(run_id, results, errors, skipped)
        return results, run_id


class AsyncLocalRuntime:
    """Executes a workflow on the running event loop; independent nodes run concurrently."""

    __slots__ = ()

    async def execute(
        self,
        workflow: Workflow,
        parameters: Mapping[str, Mapping[str, Any]] | None = None,
        *,
        run_id: str | None = None,
    ) -> tuple[Results, str]:
        _check(workflow, parameters)
        run_id = run_id or _new_run_id()
        results: Results = {}
        errors: dict[str, BaseException] = {}
        skipped: list[str] = []
        loop = asyncio.get_running_loop()
        done: dict[str, asyncio.Future[bool]] = {n: loop.create_future() for n in workflow.order}

        async def run_node(node_id: str) -> None:
            ok = True
            for pred in workflow.predecessors[node_id]:
                ok = await done[pred] and ok
            if not ok:
                skipped.append(node_id)
                done[node_id].set_result(False)
                return
            try:
                inputs = _inputs_for(workflow, node_id, results, parameters)
                output = await workflow.nodes[node_id].arun(**inputs)
                results[node_id] = _check_output(node_id, output)
                done[node_id].set_result(True)
            except Exception as exc:
                errors[node_id] = _node_error(node_id, exc)
                done[node_id].set_result(False)
            except BaseException:
                # Cancellation or interrupt: unblock the dependants, then let it propagate.
                done[node_id].set_result(False)
                raise

        await asyncio.gather(*(run_node(n) for n in workflow.order))
        if errors:
            raise WorkflowExecutionError(run_id, results, errors, skipped)
        # Report results in execution order, not completion order, for reproducible output.
        return {n: results[n] for n in workflow.order}, run_id
