"""Every coordination pattern on the fake LLM (function mode): results, termination, concurrency,
who-did-what, failure paths, audit and memory recording, and workflow composition."""

from __future__ import annotations

import asyncio
import json

import pytest

from kaizen import Kaizen, LocalRuntime, WorkflowBuilder
from kaizen.audit import AGENT_RUN, COORDINATION, AuditTrail
from kaizen.coordination import (
    Consensus,
    CoordinationError,
    Debate,
    Handoff,
    ParallelFanOut,
    SequentialPipeline,
    SupervisorWorker,
)
from kaizen.errors import ConfigurationError
from kaizen.memory import InMemoryConversationMemory, SharedMemoryPool
from tests.unit.coordination.conftest import Instant, answers, fails, prompt


def test_sequential_passes_outputs_forward(instant: Instant) -> None:
    k = Kaizen()
    a = instant.agent(k, "a", lambda m, s: {"draft": "d1"}, "topic -> draft")
    b = instant.agent(
        k, "b", lambda m, s: {"final": "F" if "d1" in prompt(m) else "?"}, "draft, topic -> final"
    )
    result = SequentialPipeline([a, b]).run(topic="t")
    assert result.outputs == {"final": "F"}
    assert [(s.agent_id, s.role) for s in result.steps] == [("a", "stage-1"), ("b", "stage-2")]
    assert result.steps[1].inputs == {"draft": "d1", "topic": "t"}


def test_sequential_failure_is_typed_and_stops(instant: Instant) -> None:
    k = Kaizen()
    a = instant.agent(k, "a", fails(), "topic -> draft")
    b = instant.agent(k, "b", answers(final="x"), "draft -> final")
    with pytest.raises(CoordinationError, match="stage 1") as info:
        SequentialPipeline([a, b]).run(topic="t")
    assert [s.agent_id for s in info.value.steps] == ["a"]
    assert "ProviderConnectionError" in str(info.value)


async def test_parallel_overlaps_agent_calls(instant: Instant) -> None:
    """A barrier that only opens once all four calls are in flight: a sequential
    implementation would deadlock and hit the timeout."""
    k = Kaizen()
    agents = [
        instant.agent(k, f"w{i}", answers(answer=f"a{i}"), "question -> answer") for i in range(4)
    ]
    instant.overlap(*(a.agent_id for a in agents))
    async with asyncio.timeout(5):
        result = await ParallelFanOut(agents).arun(question="q")
    assert result.results == {f"w{i}": {"answer": f"a{i}"} for i in range(4)}
    assert result.success and result.failed == ()


async def test_debate_sides_argue_concurrently(instant: Instant) -> None:
    k = Kaizen()
    sig = "topic -> argument"
    pro = instant.agent(k, "pro", answers(argument="p"), sig)
    con = instant.agent(k, "con", answers(argument="c"), sig)
    judge = instant.agent(k, "judge", answers(winner="for"), "transcript -> winner")
    instant.overlap("pro", "con")
    async with asyncio.timeout(5):
        result = await Debate(pro, con, judge, rounds=2).arun(topic="t")
    assert result.verdict == {"winner": "for"}


def test_parallel_min_success_and_aggregate(instant: Instant) -> None:
    k = Kaizen()
    ok = instant.agent(k, "ok", answers(answer="1"), "question -> answer")
    bad = instant.agent(k, "bad", fails(), "question -> answer")
    result = ParallelFanOut([ok, bad], min_success=1, aggregate=lambda r: {"n": len(r)}).run(
        question="q"
    )
    assert result.outputs == {"n": 1} and result.failed == ("bad",) and not result.success
    with pytest.raises(CoordinationError, match="1 of 2 agents succeeded, 2 required"):
        ParallelFanOut([ok, bad]).run(question="q")


def test_supervisor_delegates_reassigns_and_aggregates(instant: Instant) -> None:
    k = Kaizen()
    w1 = instant.agent(k, "w1", fails("w1 down"), "task -> answer")
    w2 = instant.agent(k, "w2", lambda m, s: {"answer": "done"}, "task -> answer")
    boss = instant.agent(
        k, "boss", lambda m, s: {"summary": f"{prompt(m).count('done')} done"}, "results -> summary"
    )
    team = SupervisorWorker([w1, w2], boss, max_attempts=2)
    result = team.run(tasks=["t0", "t1", "t2"])
    assert result.success and result.failed_tasks == ()
    assert result.assignments == {"task-0": "w2", "task-1": "w2", "task-2": "w2"}
    assert {(r.task_id, r.from_agent, r.to_agent) for r in result.reassignments} == {
        ("task-0", "w1", "w2"),
        ("task-2", "w1", "w2"),
    }
    assert "w1 down" in result.reassignments[0].reason
    assert result.outputs["summary"] == "3 done"
    assert result.outputs["results"] == [{"answer": "done"}] * 3
    assert result.by_agent("boss")[0].role == "supervisor"


def test_supervisor_terminates_when_every_worker_fails(instant: Instant) -> None:
    k = Kaizen()
    workers = [instant.agent(k, f"w{i}", fails(), "task -> answer") for i in range(3)]
    with pytest.raises(CoordinationError, match="task-0, task-1 failed on every attempt") as info:
        SupervisorWorker(workers, max_attempts=5).run(tasks=["a", "b"])
    # max_attempts is capped by the number of workers: 2 tasks x 3 workers = 6 calls at most
    assert len(info.value.steps) == 6


def test_supervisor_route_and_partial(instant: Instant) -> None:
    k = Kaizen()
    w1 = instant.agent(k, "w1", answers(answer="x"), "task -> answer")
    w2 = instant.agent(k, "w2", fails(), "task -> answer")
    team = SupervisorWorker(
        [w1, w2], route=lambda i, task, ids: "w2", max_attempts=1, allow_partial=True
    )
    result = team.run(tasks=[{"task": "a"}])
    assert result.failed_tasks == ("task-0",) and not result.success
    with pytest.raises(ConfigurationError, match="route"):
        SupervisorWorker([w1], route=lambda i, t, ids: "nobody").run(tasks=["a"])


def test_consensus_is_counted_not_decided(instant: Instant) -> None:
    k = Kaizen()
    sig = "proposal -> vote: Literal['approve', 'reject']"
    votes = ["approve", "approve", "reject", "approve", "reject"]
    agents = [instant.agent(k, f"v{i}", answers(vote=v), sig) for i, v in enumerate(votes)]
    result = Consensus(agents, threshold=0.6).run(proposal="p")
    assert result.tally == {"approve": 3, "reject": 2}
    assert result.reached and result.decision == "approve" and result.outputs["votes_needed"] == 3
    strict = Consensus(agents, threshold=0.8).run(proposal="p")
    assert not strict.reached and strict.decision is None and not strict.success


def test_consensus_failures_abstain_and_ties_do_not_win(instant: Instant) -> None:
    k = Kaizen()
    sig = "proposal -> vote"
    yes = instant.agent(k, "yes", answers(vote=" Yes "), sig)
    no = instant.agent(k, "no", answers(vote="no"), sig)
    down = instant.agent(k, "down", fails(), sig)
    result = Consensus([yes, no, down], threshold=0.3).run(proposal="p")
    assert result.abstained == ("down",) and result.tally == {"yes": 1, "no": 1}
    assert not result.reached  # a tie never decides
    only_yes = Consensus([yes, down], threshold=0.5).run(proposal="p")
    assert only_yes.reached and only_yes.decision == "yes"
    with pytest.raises(CoordinationError, match="no agent cast a valid vote"):
        Consensus([down], threshold=0.5).run(proposal="p")
    with pytest.raises(ConfigurationError, match="vote_field"):
        Consensus([instant.agent(k, "x", answers(answer="a"), "q -> answer")])


def test_debate_rounds_then_judge(instant: Instant) -> None:
    k = Kaizen()
    sig = "topic, position, opponent_argument, round: int -> argument"
    pro = instant.agent(k, "pro", lambda m, s: {"argument": "pro-arg"}, sig)
    con = instant.agent(k, "con", lambda m, s: {"argument": "con-arg"}, sig)
    judge = instant.agent(
        k,
        "judge",
        lambda m, s: {"winner": "for", "reason": str(prompt(m).count("Round"))},
        "topic, transcript -> winner: Literal['for', 'against'], reason",
    )
    result = Debate(pro, con, judge, rounds=3).run(topic="t")
    assert result.rounds == 3 and len(result.transcript) == 6
    assert result.verdict["winner"] == "for" and result.verdict["reason"] == "6"
    second_pro = next(s for s in result.steps if s.agent_id == "pro" and s.round == 2)
    assert second_pro.inputs["opponent_argument"] == "con-arg"
    assert [s.role for s in result.steps].count("judge") == 1
    with pytest.raises(ConfigurationError, match="rounds"):
        Debate(pro, con, judge, rounds=0)


def test_handoff_escalates_to_max_tier(instant: Instant) -> None:
    k = Kaizen()
    sig = "question -> answer, confidence: float"
    t0 = instant.agent(k, "t0", answers(answer="?", confidence=0.1), sig)
    t1 = instant.agent(k, "t1", fails(), sig)
    t2 = instant.agent(k, "t2", answers(answer="sure", confidence=0.9), sig)
    result = Handoff([t0, t1, t2], min_confidence=0.5).run(question="q")
    assert result.resolved and result.handled_by == "t2" and result.tier == 2
    assert [(e.tier, e.agent_id) for e in result.escalations] == [(0, "t0"), (1, "t1")]
    capped = Handoff([t0, t1, t2], min_confidence=0.5, max_tier=0).run(question="q")
    assert not capped.resolved and capped.handled_by == "t0" and len(capped.steps) == 1
    assert "max tier reached" in capped.escalations[-1].reason
    with pytest.raises(CoordinationError, match="max tier 1"):
        Handoff([t0, t1], min_confidence=0.5).run(question="q")


def test_audit_and_memory_record_every_call_once(instant: Instant) -> None:
    k = Kaizen({"audit_enabled": True})
    trail = k.attach_audit(AuditTrail())
    w = [instant.agent(k, f"w{i}", answers(answer="x"), "task -> answer") for i in range(3)]
    pool = SharedMemoryPool(InMemoryConversationMemory(max_turns=100), "team")
    team = k.supervisor_worker([a.agent_id for a in w], memory=pool)
    result = team.run(tasks=["a", "b", "c", "d"])
    runs = trail.entries(AGENT_RUN)
    assert len(runs) == 4 and len({e.payload["run_id"] for e in runs}) == 4
    assert {e.payload["run_id"] for e in runs} == {s.run_id for s in result.steps}
    assert all(e.payload["coordination_run_id"] == result.run_id for e in runs)
    (summary,) = trail.entries(COORDINATION)
    assert summary.outcome == "ok" and summary.payload["steps"] == 4
    assert len(trail.entries("config_change")) == 4  # attach + 3 agents
    assert trail.verify().ok
    assert sorted(t.role for t in pool.read()) == ["w0", "w0", "w1", "w2"]
    assert json.loads(pool.read()[0].content) == {"answer": "x"}


def test_audit_required_when_enabled(instant: Instant) -> None:
    k = Kaizen({"audit_enabled": True})
    a = instant.agent(k, "a", answers(answer="x"), "question -> answer")
    with pytest.raises(ConfigurationError, match="audit_enabled"):
        k.parallel([a])


def test_team_factory_and_workflow_composition(instant: Instant) -> None:
    k = Kaizen()
    for i in range(2):
        instant.agent(k, f"w{i}", answers(answer=f"a{i}"), "question -> answer")
    team = k.create_agent_team(
        "t1", ["w0", "w1"], pattern="parallel", memory=InMemoryConversationMemory()
    )
    wf = team.to_workflow("team")
    wf.add_node("PythonCodeNode", "count", {"function": lambda outputs: len(outputs["results"])})
    wf.add_connection("team", "outputs", "count", "outputs")
    results, _ = LocalRuntime().execute(wf.build(), {"team": {"question": "q"}})
    assert results["count"]["result"] == 2 and results["team"]["success"] is True
    # also addable by type name into any builder
    other = WorkflowBuilder()
    other.add_node("CoordinationNode", "t", {"pattern": team})
    assert LocalRuntime().execute(other.build(), {"t": {"question": "q"}})[0]["t"]["success"]
    with pytest.raises(ConfigurationError, match="pattern"):
        k.create_agent_team("t2", ["w0"], pattern="anarchy")


def test_timeout_terminates_a_hung_run(instant: Instant) -> None:
    k = Kaizen()
    a = instant.agent(k, "a", answers(answer="x"), "question -> answer")

    async def hang(**kw):  # type: ignore[no-untyped-def]
        await asyncio.Event().wait()

    pattern = ParallelFanOut([a], timeout=0.05)
    pattern.workers = (
        type("Hung", (), {"agent_id": "h", "arun": staticmethod(hang), "compiled": a.compiled})(),
    )  # type: ignore[assignment]
    with pytest.raises(CoordinationError, match="did not finish within"):
        pattern.run(question="q")


def test_run_inside_a_loop_points_to_arun(instant: Instant) -> None:
    k = Kaizen()
    a = instant.agent(k, "a", answers(answer="x"), "question -> answer")

    async def inner() -> None:
        with pytest.raises(RuntimeError, match="arun"):
            ParallelFanOut([a]).run(question="q")

    asyncio.run(inner())
