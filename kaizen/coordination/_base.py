"""What every pattern shares: calling an agent with only the inputs its signature declares,
recording the call (steps, audit trail, team memory), and the run envelope (run id,
overall timeout, failure as `CoordinationError`, a `to_workflow()` for composition)."""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from abc import ABC, abstractmethod
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any, ClassVar

from kaizen.coordination.errors import CoordinationError
from kaizen.coordination.results import AgentStep, CoordinationResult
from kaizen.errors import ConfigurationError, KaizenError

if TYPE_CHECKING:
    from kaizen.agent import Agent
    from kaizen.audit import AuditTrail
    from kaizen.memory import SharedMemoryPool
    from kaizen.workflow import WorkflowBuilder


def check_agents(agents: Any, key: str, *, minimum: int = 1) -> tuple[Agent, ...]:
    from kaizen.agent import Agent

    if isinstance(agents, Agent) or not isinstance(agents, Sequence):
        raise ConfigurationError(key, f"must be a list of agents, got {type(agents).__name__}")
    agents = tuple(agents)
    if len(agents) < minimum:
        raise ConfigurationError(key, f"needs at least {minimum} agent(s), got {len(agents)}")
    for agent in agents:
        if not isinstance(agent, Agent):
            raise ConfigurationError(key, f"every entry must be an Agent, got {agent!r}")
    ids = [a.agent_id for a in agents]
    if len(set(ids)) != len(ids):
        raise ConfigurationError(key, f"agents must be distinct, got {ids}")
    return agents


def check_agent(agent: Any, key: str) -> Agent:
    return check_agents([agent], key)[0]


def inputs_for(agent: Agent, context: Mapping[str, Any]) -> dict[str, Any]:
    """Only the inputs the agent's signature declares (signatures reject unknown inputs)."""
    return {name: context[name] for name in agent.compiled.input_names if name in context}


def to_text(value: Any) -> str:
    return value if isinstance(value, str) else json.dumps(value, default=str, sort_keys=True)


class Recorder:
    """Runs agent calls for one pattern run and records each exactly once."""

    def __init__(
        self,
        pattern: str,
        run_id: str,
        audit: AuditTrail | None,
        memory: SharedMemoryPool | None,
        semaphore: asyncio.Semaphore | None,
    ) -> None:
        self.pattern = pattern
        self.run_id = run_id
        self.audit = audit
        self.memory = memory
        self.semaphore = semaphore
        self.steps: list[AgentStep] = []
        self.started = time.perf_counter()

    async def call(
        self,
        agent: Agent,
        role: str,
        context: Mapping[str, Any],
        *,
        round: int | None = None,
        task_id: str | None = None,
        attempt: int = 1,
    ) -> AgentStep:
        inputs = inputs_for(agent, context)
        started = time.perf_counter()
        try:
            if self.semaphore is None:
                result = await agent.arun(**inputs)
            else:
                async with self.semaphore:
                    result = await agent.arun(**inputs)
        except KaizenError as exc:
            step = AgentStep(
                agent.agent_id,
                role,
                "failed",
                inputs,
                {},
                f"{type(exc).__name__}: {exc}",
                None,
                (time.perf_counter() - started) * 1000,
                round,
                task_id,
                attempt,
            )
            step_error: BaseException | None = exc
        else:
            step = AgentStep(
                agent.agent_id,
                role,
                "ok",
                inputs,
                dict(result.outputs),
                None,
                result.run_id,
                result.duration_ms,
                round,
                task_id,
                attempt,
            )
            step_error = None
        self.steps.append(step)
        await self._record(step, step_error)
        return step

    async def _record(self, step: AgentStep, error: BaseException | None) -> None:
        if self.audit is not None:
            details = {
                "pattern": self.pattern,
                "coordination_run_id": self.run_id,
                "role": step.role,
                "input_fields": sorted(step.inputs),
                "output_fields": sorted(step.outputs),
                "round": step.round,
                "task_id": step.task_id,
                "attempt": step.attempt,
            }
            await asyncio.to_thread(
                self.audit.record_agent_run,
                step.agent_id,
                run_id=step.run_id or f"failed:{uuid.uuid4().hex}",
                outcome=step.status,
                duration_ms=step.duration_ms,
                details=details,
                error=error,
            )
        if self.memory is not None and step.status == "ok":
            await self.memory.awrite(
                step.agent_id,
                to_text(dict(step.outputs)),
                {"pattern": self.pattern, "run_id": self.run_id, "role": step.role},
            )


class Pattern(ABC):
    """Base of the coordination patterns. `arun(**inputs)` / `run(**inputs)`."""

    name: ClassVar[str]

    def __init__(
        self,
        *,
        audit: AuditTrail | None = None,
        memory: SharedMemoryPool | None = None,
        timeout: float | None = None,
        max_concurrency: int | None = None,
    ) -> None:
        if timeout is not None and (
            isinstance(timeout, bool) or not isinstance(timeout, int | float) or not timeout > 0
        ):
            raise ConfigurationError("timeout", f"must be a positive number, got {timeout!r}")
        if max_concurrency is not None and (
            isinstance(max_concurrency, bool)
            or not isinstance(max_concurrency, int)
            or max_concurrency <= 0
        ):
            raise ConfigurationError(
                "max_concurrency", f"must be a positive integer, got {max_concurrency!r}"
            )
        self.audit = audit
        self.memory = memory
        self.timeout = timeout
        self.max_concurrency = max_concurrency

    @property
    @abstractmethod
    def agents(self) -> tuple[Agent, ...]: ...

    @abstractmethod
    async def _execute(self, inputs: dict[str, Any], rec: Recorder) -> CoordinationResult: ...

    def __repr__(self) -> str:
        return f"{type(self).__name__}({', '.join(a.agent_id for a in self.agents)})"

    async def arun(self, **inputs: Any) -> CoordinationResult:
        run_id = uuid.uuid4().hex
        semaphore = asyncio.Semaphore(self.max_concurrency) if self.max_concurrency else None
        rec = Recorder(self.name, run_id, self.audit, self.memory, semaphore)
        try:
            async with asyncio.timeout(self.timeout):
                result = await self._execute(dict(inputs), rec)
        except CoordinationError as exc:
            await self._record_run(rec, "failed", str(exc))
            raise
        except ConfigurationError:
            await self._record_run(rec, "failed", "invalid configuration")
            raise
        except TimeoutError as exc:
            error = CoordinationError(
                self.name, run_id, f"did not finish within {self.timeout:g}s", rec.steps, exc
            )
            await self._record_run(rec, "failed", str(error))
            raise error from exc
        except Exception as exc:  # a kaizen error, or a user callback's (aggregate, route, ...)
            error = CoordinationError(
                self.name, run_id, f"{type(exc).__name__}: {exc}", rec.steps, exc
            )
            await self._record_run(rec, "failed", str(error))
            raise error from exc
        await self._record_run(rec, "ok" if result.success else "failed", None)
        return result

    def run(self, **inputs: Any) -> CoordinationResult:
        try:
            asyncio.get_running_loop()
        except RuntimeError:
            return asyncio.run(self.arun(**inputs))
        raise RuntimeError(
            f"{type(self).__name__}.run() called inside a running event loop; use "
            "`await pattern.arun(...)`"
        )

    async def _record_run(self, rec: Recorder, outcome: str, error: str | None) -> None:
        if self.audit is None:
            return
        from kaizen.audit import COORDINATION

        payload: dict[str, Any] = {
            "run_id": rec.run_id,
            "agents": [a.agent_id for a in self.agents],
            "steps": len(rec.steps),
            "failed_steps": sum(1 for s in rec.steps if s.status == "failed"),
        }
        if error is not None:
            payload["error"] = error
        elif outcome != "ok":
            payload["error"] = "pattern finished without success (see result)"
        await asyncio.to_thread(
            self.audit.record,
            COORDINATION,
            actor=self.name,
            action="run",
            outcome=outcome,
            payload=payload,
        )

    def _finish(self, rec: Recorder, **fields: Any) -> dict[str, Any]:
        """Common result fields; each pattern adds its own."""
        return {
            "pattern": self.name,
            "run_id": rec.run_id,
            "steps": tuple(rec.steps),
            "duration_ms": (time.perf_counter() - rec.started) * 1000,
            **fields,
        }

    def _fail(self, rec: Recorder, message: str) -> CoordinationError:
        return CoordinationError(self.name, rec.run_id, message, rec.steps)

    def to_workflow(self, node_id: str = "team") -> WorkflowBuilder:
        """A builder holding this pattern as a `CoordinationNode` (outputs: `outputs`,
        `result`, `success`), ready to connect to other nodes."""
        from kaizen.coordination.node import CoordinationNode  # noqa: F401  (registers it)
        from kaizen.workflow import WorkflowBuilder

        builder = WorkflowBuilder(name=f"{self.name}:{node_id}")
        builder.add_node("CoordinationNode", node_id, {"pattern": self})
        return builder
