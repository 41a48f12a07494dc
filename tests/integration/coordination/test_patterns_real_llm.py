"""Coordination patterns on the real LLM (Gemma 3 270M over the Ollama API). The model is
a tiny base model: assert on structure and bookkeeping, never on what it says."""

from __future__ import annotations

import socket

import pytest

from kaizen import Kaizen, LocalRuntime
from kaizen.audit import AGENT_RUN, AuditTrail
from kaizen.coordination import CoordinationError
from kaizen.errors import ProviderConnectionError

pytestmark = [pytest.mark.requires_services("ollama"), pytest.mark.timeout(600)]


def test_supervisor_worker_on_real_llm(llm_agent) -> None:
    k = Kaizen({"audit_enabled": True})
    trail = k.attach_audit(AuditTrail())
    workers = [llm_agent(k, f"worker{i}", "task -> answer") for i in range(2)]
    llm_agent(k, "boss", "results -> summary")
    team = k.supervisor_worker(workers, supervisor="boss")
    result = team.run(tasks=["Name a colour.", "Name a fruit.", "Name a number."])
    assert result.success and result.failed_tasks == ()
    assert set(result.assignments.values()) <= {"worker0", "worker1"}
    assert len(result.task_results) == 3
    assert all(isinstance(r["answer"], str) for r in result.task_results)
    assert isinstance(result.outputs["summary"], str)
    assert len(trail.entries(AGENT_RUN)) == 4 and trail.verify().ok


def test_consensus_counts_real_votes(llm_agent) -> None:
    k = Kaizen()
    sig = "proposal -> vote: Literal['approve', 'reject']"
    voters = [llm_agent(k, f"voter{i}", sig, seed=i) for i in range(3)]
    result = k.consensus(voters, threshold=0.6).run(proposal="Adopt a four-day week.")
    assert sum(result.tally.values()) + len(result.abstained) == 3
    assert set(result.tally) <= {"approve", "reject"}
    top = max(result.tally.values())
    assert result.reached == (top >= 2 and list(result.tally.values()).count(top) == 1)
    if result.reached:
        assert result.tally[result.decision] == top


def test_debate_and_handoff_terminate(llm_agent) -> None:
    k = Kaizen()
    sig = "topic, opponent_argument -> argument"
    pro, con = llm_agent(k, "pro", sig), llm_agent(k, "con", sig)
    judge = llm_agent(k, "judge", "topic, transcript -> winner: Literal['for', 'against']")
    debate = k.debate(pro, con, judge, rounds=1).run(topic="Cats are better than dogs.")
    assert debate.verdict["winner"] in ("for", "against") and len(debate.transcript) == 2
    tiers = [llm_agent(k, f"tier{i}", "question -> answer, confidence: float") for i in range(2)]
    handoff = k.handoff(tiers, escalate_when=lambda outputs: "policy: always escalate").run(
        question="What is 2+2?"
    )
    # every tier escalates: the chain must stop at the max tier, unresolved
    assert not handoff.resolved and handoff.tier == 1 and len(handoff.steps) == 2


def test_team_composes_with_a_workflow_on_real_llm(llm_agent) -> None:
    k = Kaizen()
    stages = [
        llm_agent(k, "outline", "topic -> outline"),
        llm_agent(k, "title", "outline -> title"),
    ]
    wf = k.sequential(stages).to_workflow("pipeline")
    wf.add_node("PythonCodeNode", "shape", {"function": lambda outputs: sorted(outputs)})
    wf.add_connection("pipeline", "outputs", "shape", "outputs")
    results, _ = LocalRuntime().execute(wf.build(), {"pipeline": {"topic": "rivers"}})
    assert results["shape"]["result"] == ["title"]


def test_unreachable_llm_fails_with_a_clear_error(ollama_service) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    k = Kaizen()
    trail = AuditTrail()
    agents = [
        k.create_agent(
            f"w{i}",
            {
                "model": ollama_service.settings.model,
                "max_retries": 0,
                "base_url": f"http://127.0.0.1:{port}",
                "timeout": 10,
            },
        )
        for i in range(2)
    ]
    with pytest.raises(CoordinationError) as info:
        k.parallel(agents, audit=trail).run(question="q")
    assert "ProviderConnectionError" in str(info.value)
    assert all(s.status == "failed" for s in info.value.steps)
    runs = trail.entries(AGENT_RUN)
    assert len(runs) == 2 and all(e.outcome == "failed" and e.payload["error"] for e in runs)
    assert trail.verify().ok
    assert ProviderConnectionError.__name__ in runs[0].payload["error"]
