"""What a workflow or coordination run produced, judged against the expectations of a
test (success, outputs a signature accepts, timing), with the reasons when it fails."""

from __future__ import annotations

import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from kaizen.errors import SignatureValidationError, WorkflowExecutionError

if TYPE_CHECKING:
    from kaizen.coordination import AgentStep, CoordinationResult
    from kaizen.workflow import Workflow, WorkflowBuilder


@dataclass(frozen=True)
class WorkflowExecutionResult:
    """One workflow run, judged node by node.

    `success` is true only if every node ran, none failed or was skipped, and every agent
    node's outputs validate against its signature.
    """

    results: Mapping[str, Mapping[str, Any]]
    run_id: str
    execution_time_ms: float
    node_status: Mapping[str, str]  # node id -> "ok" | "failed" | "skipped"
    errors: Mapping[str, str] = field(default_factory=dict)  # node id -> "Type: message"
    exceptions: Mapping[str, BaseException] = field(default_factory=dict, repr=False)
    validation_errors: Mapping[str, tuple[str, ...]] = field(default_factory=dict)

    @property
    def success(self) -> bool:
        return (
            bool(self.node_status)
            and all(status == "ok" for status in self.node_status.values())
            and not self.validation_errors
        )

    @property
    def failed_nodes(self) -> tuple[str, ...]:
        return tuple(n for n, s in self.node_status.items() if s == "failed")

    @property
    def skipped_nodes(self) -> tuple[str, ...]:
        return tuple(n for n, s in self.node_status.items() if s == "skipped")

    def outputs(self, node_id: str) -> dict[str, Any]:
        """A node's outputs without the agent bookkeeping (`_meta`)."""
        try:
            produced = self.results[node_id]
        except KeyError:
            raise KeyError(
                f"node {node_id!r} produced nothing (status: "
                f"{self.node_status.get(node_id, 'unknown node')}; nodes: "
                f"{', '.join(self.node_status)})"
            ) from None
        return {k: v for k, v in produced.items() if k != "_meta"}

    def summary(self) -> str:
        parts = [f"run {self.run_id}: {'ok' if self.success else 'FAILED'}"]
        parts += [f"{n}={s}" for n, s in self.node_status.items()]
        parts += [f"{n}: {e}" for n, e in self.errors.items()]
        parts += [f"{n} output invalid: {'; '.join(v)}" for n, v in self.validation_errors.items()]
        return ", ".join(parts)


def _validate_agent_outputs(
    workflow: Workflow, results: Mapping[str, Mapping[str, Any]]
) -> dict[str, tuple[str, ...]]:
    """Re-validate each agent node's outputs against its signature (independently of the
    agent's own check, so a node that bypassed validation is caught here)."""
    from kaizen.workflow.nodes import LLMAgentNode

    problems: dict[str, tuple[str, ...]] = {}
    for node_id, node in workflow.nodes.items():
        if not isinstance(node, LLMAgentNode) or node_id not in results:
            continue
        outputs = {k: v for k, v in results[node_id].items() if k != "_meta"}
        try:
            node.config["agent"].compiled.parse_output(outputs)
        except SignatureValidationError as exc:
            problems[node_id] = tuple(str(e) for e in exc.errors)
    return problems


def _judge(
    workflow: Workflow,
    results: Mapping[str, Mapping[str, Any]],
    run_id: str,
    started: float,
    failure: WorkflowExecutionError | None,
) -> WorkflowExecutionResult:
    errors = dict(failure.errors) if failure else {}
    skipped = set(failure.skipped) if failure else set()
    status = {
        n: "failed"
        if n in errors
        else "skipped"
        if n in skipped
        else "ok"
        if n in results
        else "skipped"
        for n in workflow.order
    }

    def text(exc: BaseException) -> str:
        cause = exc.__cause__ or exc
        return f"{type(cause).__name__}: {cause}"

    return WorkflowExecutionResult(
        results=dict(results),
        run_id=run_id,
        execution_time_ms=(time.perf_counter() - started) * 1000,
        node_status=status,
        errors={n: text(e) for n, e in errors.items()},
        exceptions=errors,
        validation_errors=_validate_agent_outputs(workflow, results),
    )


def _built(workflow: Workflow | WorkflowBuilder) -> Workflow:
    return workflow.build() if hasattr(workflow, "build") else workflow


async def execute_workflow(
    workflow: Workflow | WorkflowBuilder, parameters: Mapping[str, Mapping[str, Any]] | None = None
) -> WorkflowExecutionResult:
    """Run on the AsyncLocalRuntime; a failed node becomes `success=False`, never an
    exception the test has to catch (invalid workflows still raise at build time)."""
    from kaizen.workflow import AsyncLocalRuntime

    built = _built(workflow)
    started = time.perf_counter()
    try:
        results, run_id = await AsyncLocalRuntime().execute(built, parameters)
    except WorkflowExecutionError as exc:
        return _judge(built, exc.results, exc.run_id, started, exc)
    return _judge(built, results, run_id, started, None)


def execute_workflow_sync(
    workflow: Workflow | WorkflowBuilder, parameters: Mapping[str, Mapping[str, Any]] | None = None
) -> WorkflowExecutionResult:
    """The same judgement for the LocalRuntime."""
    from kaizen.workflow import LocalRuntime

    built = _built(workflow)
    started = time.perf_counter()
    try:
        results, run_id = LocalRuntime().execute(built, parameters)
    except WorkflowExecutionError as exc:
        return _judge(built, exc.results, exc.run_id, started, exc)
    return _judge(built, results, run_id, started, None)


def validate_workflow_execution(
    result: WorkflowExecutionResult,
    *,
    expected_nodes: Iterable[str] | None = None,
    expected_outputs: Mapping[str, Iterable[str]] | None = None,
    max_execution_time_ms: float | None = None,
    allow_failures: bool = False,
) -> WorkflowExecutionResult:
    """Assert a run is what the test expects; one AssertionError lists every problem."""
    if not isinstance(result, WorkflowExecutionResult):
        raise TypeError(f"expected a WorkflowExecutionResult, got {type(result).__name__}")
    problems: list[str] = []
    if not allow_failures and not result.success:
        problems.append(f"run failed: {result.summary()}")
    if expected_nodes is not None:
        missing = [n for n in expected_nodes if result.node_status.get(n) != "ok"]
        if missing:
            problems.append(f"nodes that did not succeed: {', '.join(missing)}")
    for node, names in (expected_outputs or {}).items():
        produced = result.results.get(node, {})
        absent = [name for name in names if name not in produced]
        if absent:
            problems.append(f"node {node!r} lacks outputs {absent} (has {sorted(produced)})")
    if max_execution_time_ms is not None and result.execution_time_ms > max_execution_time_ms:
        problems.append(
            f"took {result.execution_time_ms:.0f} ms, limit {max_execution_time_ms:.0f} ms"
        )
    if problems:
        raise AssertionError("workflow execution invalid: " + "; ".join(problems))
    return result


# --- coordination results -------------------------------------------------------------------


@dataclass(frozen=True)
class CoordinationExecutionResult:
    """A coordination pattern run: the pattern's own result, or the error that ended it."""

    pattern: str
    success: bool
    execution_time_ms: float
    result: CoordinationResult | None = None
    error: BaseException | None = None

    @property
    def outputs(self) -> Mapping[str, Any]:
        return self.result.outputs if self.result is not None else {}

    @property
    def steps(self) -> tuple[AgentStep, ...]:
        if self.result is not None:
            return tuple(self.result.steps)
        return tuple(getattr(self.error, "steps", ()) or ())

    @property
    def agents_involved(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys(step.agent_id for step in self.steps))
