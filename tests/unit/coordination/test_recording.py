"""What a pattern records for every agent call: the `AgentStep` (role, round, task id,
attempt, error, duration), the audit trail's `agent_run` entry (its exact payload, which is
what an auditor queries) and the team memory turn (content and metadata). Each is checked
field by field, for successful and for failed calls, because a misnamed or missing field
silently breaks every consumer of the record."""

from __future__ import annotations

import json
import re
import time
from enum import Enum

from kaizen import Kaizen
from kaizen.audit import AGENT_RUN, AuditTrail
from kaizen.coordination import Handoff, ParallelFanOut, SupervisorWorker
from kaizen.memory import InMemoryConversationMemory, SharedMemoryPool
from kaizen.signatures import InputField, OutputField, Signature
from tests.unit.coordination.conftest import Instant, answers, fails, takes

HEX32 = re.compile(r"[0-9a-f]{32}")


class Colour(Enum):
    RED = 1
    BLUE = 2


class Pick(Signature):
    """Pick a colour."""

    question: str = InputField(desc="the question")
    colour: Colour = OutputField(desc="the colour")


def test_agent_run_audit_payload_is_exact_for_ok_and_failed_calls(instant: Instant) -> None:
    """The audit entry of each call carries the pattern, the coordination run, the role, the
    field names and the position; a failed call also carries its error, an ok call none."""
    k = Kaizen()
    trail = AuditTrail()
    ok = instant.agent(k, "ok", answers(answer="1"), "question -> answer")
    bad = instant.agent(k, "bad", fails("server gone"), "question -> answer")
    result = ParallelFanOut([ok, bad], min_success=1, audit=trail).run(question="q")
    assert HEX32.fullmatch(result.run_id)
    runs = {e.actor: e for e in trail.entries(AGENT_RUN)}
    ok_step, bad_step = result.by_agent("ok")[0], result.by_agent("bad")[0]
    common = {
        "pattern": "parallel",
        "coordination_run_id": result.run_id,
        "role": "worker",
        "input_fields": ["question"],
        "round": None,
        "task_id": None,
        "attempt": 1,
    }
    assert runs["ok"].outcome == "ok"
    assert dict(runs["ok"].payload) == {
        "run_id": ok_step.run_id,
        "duration_ms": round(ok_step.duration_ms, 3),
        **common,
        "output_fields": ["answer"],
    }
    assert runs["bad"].outcome == "failed"
    bad_payload = dict(runs["bad"].payload)
    assert re.fullmatch(r"failed:[0-9a-f]{32}", bad_payload.pop("run_id"))
    assert bad_payload == {
        "duration_ms": round(bad_step.duration_ms, 3),
        **common,
        "output_fields": [],
        "error": "ProviderConnectionError: server gone (instant)",
    }


def test_parallel_steps_carry_role_and_first_attempt(instant: Instant) -> None:
    """A call made without an explicit attempt is attempt 1, in the step and the audit."""
    k = Kaizen()
    ok = instant.agent(k, "ok", answers(answer="1"), "question -> answer")
    bad = instant.agent(k, "bad", fails("down"), "question -> answer")
    result = ParallelFanOut([ok, bad], min_success=1).run(question="q")
    assert [(s.agent_id, s.role, s.status, s.attempt) for s in result.steps] == [
        ("ok", "worker", "ok", 1),
        ("bad", "worker", "failed", 1),
    ]
    failed = result.by_agent("bad")[0]
    assert failed.error == "ProviderConnectionError: down (instant)"
    assert failed.outputs == {} and failed.run_id is None
    assert failed.inputs == {"question": "q"}


def test_failed_and_ok_steps_keep_task_id_and_attempt(instant: Instant) -> None:
    """Reassignment evidence: the failed first attempt and the successful second attempt
    each name their task and attempt, in the step and in the audit entry."""
    k = Kaizen()
    trail = AuditTrail()
    w1 = instant.agent(k, "w1", fails("w1 down"), "task -> answer")
    w2 = instant.agent(k, "w2", answers(answer="done"), "task -> answer")
    result = SupervisorWorker([w1, w2], max_attempts=2, audit=trail).run(tasks=["t0"])
    assert [(s.agent_id, s.status, s.round, s.task_id, s.attempt) for s in result.steps] == [
        ("w1", "failed", None, "task-0", 1),
        ("w2", "ok", None, "task-0", 2),
    ]
    audited = [
        (e.actor, e.outcome, e.payload["round"], e.payload["task_id"], e.payload["attempt"])
        for e in trail.entries(AGENT_RUN)
    ]
    assert audited == [("w1", "failed", None, "task-0", 1), ("w2", "ok", None, "task-0", 2)]
    first_error = trail.entries(AGENT_RUN)[0].payload["error"]
    assert first_error == "ProviderConnectionError: w1 down (instant)"
    assert "error" not in trail.entries(AGENT_RUN)[1].payload


def test_a_failed_later_attempt_keeps_its_attempt_number(instant: Instant) -> None:
    """Both attempts fail: the second failed step is attempt 2, not the default 1."""
    k = Kaizen()
    w1 = instant.agent(k, "w1", fails(), "task -> answer")
    w2 = instant.agent(k, "w2", fails(), "task -> answer")
    team = SupervisorWorker([w1, w2], max_attempts=2, allow_partial=True)
    result = team.run(tasks=["t0"])
    assert [(s.agent_id, s.role, s.task_id, s.attempt) for s in result.steps] == [
        ("w1", "worker", "task-0", 1),
        ("w2", "worker", "task-0", 2),
    ]


def test_failed_step_keeps_its_round(instant: Instant) -> None:
    """Handoff numbers each call by tier (`round`); a failed tier keeps its number."""
    k = Kaizen()
    trail = AuditTrail()
    t0 = instant.agent(k, "t0", fails(), "question -> answer")
    t1 = instant.agent(k, "t1", fails(), "question -> answer")
    t2 = instant.agent(k, "t2", answers(answer="a"), "question -> answer")
    result = Handoff([t0, t1, t2], audit=trail).run(question="q")
    assert [(s.agent_id, s.status, s.round, s.task_id, s.attempt) for s in result.steps] == [
        ("t0", "failed", 0, None, 1),
        ("t1", "failed", 1, None, 1),
        ("t2", "ok", 2, None, 1),
    ]
    assert [e.payload["round"] for e in trail.entries(AGENT_RUN)] == [0, 1, 2]


def test_step_durations_are_milliseconds_of_the_call(instant: Instant) -> None:
    """A call that takes at least 5 ms measures at least 5 (ms), and no step (nor the run)
    measures more than the wall time around the whole run."""
    k = Kaizen()
    slow_ok = instant.agent(k, "ok", takes(0.005, answers(answer="1")), "question -> answer")
    slow_bad = instant.agent(k, "bad", takes(0.005, fails()), "question -> answer")
    began = time.perf_counter()
    result = ParallelFanOut([slow_ok, slow_bad], min_success=1).run(question="q")
    wall_ms = (time.perf_counter() - began) * 1000
    for step in result.steps:
        assert 5 <= step.duration_ms <= wall_ms, step
    assert 10 <= result.duration_ms <= wall_ms


def test_memory_gets_one_turn_per_successful_call_with_metadata(instant: Instant) -> None:
    """Team memory holds each successful call's outputs as sorted JSON under the agent's id,
    tagged with the pattern, the coordination run and the role; failed calls write nothing."""
    k = Kaizen()
    pool = SharedMemoryPool(InMemoryConversationMemory(max_turns=10), "team")
    ok = instant.agent(k, "ok", answers(zeta="z", alpha="a"), "question -> zeta, alpha")
    bad = instant.agent(k, "bad", fails(), "question -> zeta, alpha")
    result = ParallelFanOut([ok, bad], min_success=1, memory=pool).run(question="q")
    (turn,) = pool.read()
    assert turn.role == "ok"
    assert turn.content == '{"alpha": "a", "zeta": "z"}'
    assert json.loads(turn.content) == {"alpha": "a", "zeta": "z"}
    assert dict(turn.metadata) == {"pattern": "parallel", "run_id": result.run_id, "role": "worker"}


def test_memory_turn_of_a_non_json_output_uses_its_text(instant: Instant) -> None:
    """An Enum output is not JSON: the memory turn stores its `str()`, not a crash."""
    k = Kaizen()
    pool = SharedMemoryPool(InMemoryConversationMemory(max_turns=10), "team")
    picker = instant.agent(k, "picker", answers(colour=1), Pick)
    result = ParallelFanOut([picker], memory=pool).run(question="q")
    assert result.results == {"picker": {"colour": Colour.RED}}
    assert [t.content for t in pool.read()] == ['{"colour": "Colour.RED"}']
