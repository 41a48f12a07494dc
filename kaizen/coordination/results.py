"""The result schema shared by every coordination pattern: who did what (`steps`), the
pattern's answer (`outputs`), and pattern-specific evidence in typed subclasses."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from typing import Any, Literal

StepStatus = Literal["ok", "failed"]


@dataclass(frozen=True, slots=True)
class AgentStep:
    """One agent call inside a pattern run."""

    agent_id: str
    role: str
    status: StepStatus
    inputs: Mapping[str, Any]
    outputs: Mapping[str, Any]
    error: str | None
    run_id: str | None
    duration_ms: float
    round: int | None = None
    task_id: str | None = None
    attempt: int = 1


@dataclass(frozen=True, slots=True)
class CoordinationResult:
    pattern: str
    run_id: str
    success: bool
    outputs: Mapping[str, Any]
    steps: tuple[AgentStep, ...]
    duration_ms: float

    def by_agent(self, agent_id: str) -> tuple[AgentStep, ...]:
        return tuple(s for s in self.steps if s.agent_id == agent_id)

    @property
    def agents_involved(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys(s.agent_id for s in self.steps))

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True, slots=True)
class PipelineResult(CoordinationResult):
    pass


@dataclass(frozen=True, slots=True)
class ParallelResult(CoordinationResult):
    results: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    failed: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Reassignment:
    task_id: str
    from_agent: str
    to_agent: str
    reason: str


@dataclass(frozen=True, slots=True)
class SupervisorResult(CoordinationResult):
    assignments: Mapping[str, str] = field(default_factory=dict)
    reassignments: tuple[Reassignment, ...] = ()
    failed_tasks: tuple[str, ...] = ()
    task_results: tuple[Mapping[str, Any], ...] = ()


@dataclass(frozen=True, slots=True)
class ConsensusResult(CoordinationResult):
    decision: Any = None
    reached: bool = False
    tally: Mapping[str, int] = field(default_factory=dict)
    threshold: float = 0.5
    votes: Mapping[str, Any] = field(default_factory=dict)
    abstained: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class DebateResult(CoordinationResult):
    rounds: int = 0
    transcript: tuple[Mapping[str, Any], ...] = ()
    verdict: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Escalation:
    tier: int
    agent_id: str
    reason: str


@dataclass(frozen=True, slots=True)
class HandoffResult(CoordinationResult):
    handled_by: str | None = None
    tier: int = 0
    resolved: bool = False
    escalations: tuple[Escalation, ...] = ()
