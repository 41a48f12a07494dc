"""Multi-agent coordination patterns on the workflow core.

Each pattern runs its independent agents concurrently (`agent.arun`), terminates by
construction, records every call (`result.steps`, and the audit trail / team memory when
given), and composes with workflows via `pattern.to_workflow()` or `CoordinationNode`.
"""

from kaizen.coordination._base import Pattern
from kaizen.coordination.consensus import Consensus
from kaizen.coordination.debate import Debate
from kaizen.coordination.errors import CoordinationError
from kaizen.coordination.handoff import Handoff
from kaizen.coordination.node import CoordinationNode
from kaizen.coordination.parallel import ParallelFanOut
from kaizen.coordination.results import (
    AgentStep,
    ConsensusResult,
    CoordinationResult,
    DebateResult,
    Escalation,
    HandoffResult,
    ParallelResult,
    PipelineResult,
    Reassignment,
    SupervisorResult,
)
from kaizen.coordination.sequential import SequentialPipeline
from kaizen.coordination.supervisor import SupervisorWorker

PATTERNS = {
    "sequential": SequentialPipeline,
    "parallel": ParallelFanOut,
    "supervisor_worker": SupervisorWorker,
    "consensus": Consensus,
    "debate": Debate,
    "handoff": Handoff,
}

__all__ = [
    "PATTERNS",
    "AgentStep",
    "Consensus",
    "ConsensusResult",
    "CoordinationError",
    "CoordinationNode",
    "CoordinationResult",
    "Debate",
    "DebateResult",
    "Escalation",
    "Handoff",
    "HandoffResult",
    "ParallelFanOut",
    "ParallelResult",
    "Pattern",
    "PipelineResult",
    "Reassignment",
    "SequentialPipeline",
    "SupervisorResult",
    "SupervisorWorker",
]
