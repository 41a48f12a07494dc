"""The run envelope every pattern shares (`Pattern.arun`): a fresh run id, the
`max_concurrency` bound on agent calls, the overall `timeout` (a typed `CoordinationError`
naming the pattern and run, with the timeout as its cause), and the one `coordination`
audit entry per run, whose outcome and payload must be exact for each way a run can end:
success, an unsuccessful result, a pattern failure, a configuration error, a timeout."""

from __future__ import annotations

import asyncio
import re
from typing import Any

import pytest

from kaizen import Kaizen
from kaizen.audit import COORDINATION, AuditTrail
from kaizen.coordination import (
    CoordinationError,
    ParallelFanOut,
    SequentialPipeline,
    SupervisorWorker,
)
from kaizen.errors import ConfigurationError
from tests.unit.coordination.conftest import Gauge, Instant, answers, fails, hangs

HEX32 = re.compile(r"[0-9a-f]{32}")


def test_each_run_gets_its_own_run_id(instant: Instant) -> None:
    """The result and every recorded step belong to a fresh 32-hex run id."""
    k = Kaizen()
    a = instant.agent(k, "a", answers(answer="x"), "question -> answer")
    pattern = ParallelFanOut([a])
    first, second = pattern.run(question="q"), pattern.run(question="q")
    assert HEX32.fullmatch(first.run_id) and HEX32.fullmatch(second.run_id)
    assert first.run_id != second.run_id
    assert first.pattern == "parallel"


async def test_max_concurrency_bounds_calls_in_flight(instant: Instant) -> None:
    """Five agents, `max_concurrency=2`: never more than two calls at once, and two do
    overlap (the bound is not serialising everything)."""
    k = Kaizen()
    gauge = Gauge()
    agents = [
        instant.agent(k, f"w{i}", gauge.counting(answer=str(i)), "question -> answer")
        for i in range(5)
    ]
    result = await ParallelFanOut(agents, max_concurrency=2).arun(question="q")
    assert result.success and len(result.results) == 5
    assert gauge.peak == 2


async def test_without_max_concurrency_calls_all_overlap(instant: Instant) -> None:
    """The contrast case: no bound, all five calls are in flight together."""
    k = Kaizen()
    gauge = Gauge()
    agents = [
        instant.agent(k, f"w{i}", gauge.counting(answer=str(i)), "question -> answer")
        for i in range(5)
    ]
    await ParallelFanOut(agents).arun(question="q")
    assert gauge.peak == 5


def test_successful_run_audit_entry(instant: Instant) -> None:
    """One `coordination` entry: actor = pattern, action `run`, outcome `ok`, and a payload
    of exactly run id, agents, step and failed-step counts (no error key)."""
    k = Kaizen()
    trail = AuditTrail()
    a = instant.agent(k, "a", answers(answer="x"), "question -> answer")
    b = instant.agent(k, "b", answers(answer="y"), "question -> answer")
    result = ParallelFanOut([a, b], audit=trail).run(question="q")
    (entry,) = trail.entries(COORDINATION)
    assert (entry.actor, entry.action, entry.outcome) == ("parallel", "run", "ok")
    assert dict(entry.payload) == {
        "run_id": result.run_id,
        "agents": ["a", "b"],
        "steps": 2,
        "failed_steps": 0,
    }


def test_unsuccessful_result_is_audited_as_failed(instant: Instant) -> None:
    """A run that returns a result with `success=False` is audited as `failed`, counting its
    failed steps, with the fixed "finished without success" error."""
    k = Kaizen()
    trail = AuditTrail()
    ok = instant.agent(k, "ok", answers(answer="x"), "question -> answer")
    bad = instant.agent(k, "bad", fails(), "question -> answer")
    bad2 = instant.agent(k, "bad2", fails(), "question -> answer")
    result = ParallelFanOut([ok, bad, bad2], min_success=1, audit=trail).run(question="q")
    assert not result.success
    (entry,) = trail.entries(COORDINATION)
    assert (entry.actor, entry.action, entry.outcome) == ("parallel", "run", "failed")
    assert dict(entry.payload) == {
        "run_id": result.run_id,
        "agents": ["ok", "bad", "bad2"],
        "steps": 3,
        "failed_steps": 2,
        "error": "pattern finished without success (see result)",
    }


def test_pattern_failure_is_audited_with_its_message(instant: Instant) -> None:
    """A `CoordinationError` from the pattern: the audit entry is `failed` and carries the
    error's own text; the error names the pattern and the run."""
    k = Kaizen()
    trail = AuditTrail()
    a = instant.agent(k, "a", fails("gone"), "topic -> draft")
    b = instant.agent(k, "b", answers(final="x"), "draft -> final")
    with pytest.raises(CoordinationError, match=r"^sequential run [0-9a-f]{32} failed: stage 1"):
        SequentialPipeline([a, b], audit=trail).run(topic="t")
    (entry,) = trail.entries(COORDINATION)
    assert (entry.actor, entry.action, entry.outcome) == ("sequential", "run", "failed")
    error = entry.payload["error"]
    assert error.startswith(f"sequential run {entry.payload['run_id']} failed: stage 1 (a)")
    assert dict(entry.payload) == {
        "run_id": entry.payload["run_id"],
        "agents": ["a", "b"],
        "steps": 1,
        "failed_steps": 1,
        "error": error,
    }


def test_pattern_failure_error_names_pattern_and_run(instant: Instant) -> None:
    """`CoordinationError.pattern` / `.run_id` identify the run (the audit's run id)."""
    k = Kaizen()
    trail = AuditTrail()
    a = instant.agent(k, "a", fails(), "topic -> draft")
    with pytest.raises(CoordinationError) as info:
        SequentialPipeline([a], audit=trail).run(topic="t")
    (entry,) = trail.entries(COORDINATION)
    assert info.value.pattern == "sequential"
    assert info.value.run_id == entry.payload["run_id"]
    assert HEX32.fullmatch(info.value.run_id)
    assert str(info.value) == entry.payload["error"]


def test_configuration_error_during_run_is_audited(instant: Instant) -> None:
    """A configuration problem found mid-run (a route naming no worker) is re-raised as is
    and audited as `failed` with "invalid configuration"."""
    k = Kaizen()
    trail = AuditTrail()
    w = instant.agent(k, "w", answers(answer="x"), "task -> answer")
    team = SupervisorWorker([w], route=lambda i, t, ids: "nobody", audit=trail)
    with pytest.raises(ConfigurationError, match="route"):
        team.run(tasks=["a"])
    (entry,) = trail.entries(COORDINATION)
    assert (entry.actor, entry.action, entry.outcome) == ("supervisor_worker", "run", "failed")
    assert dict(entry.payload) == {
        "run_id": entry.payload["run_id"],
        "agents": ["w"],
        "steps": 0,
        "failed_steps": 0,
        "error": "invalid configuration",
    }
    assert HEX32.fullmatch(entry.payload["run_id"])


def test_timeout_is_a_typed_error_and_audited(instant: Instant) -> None:
    """A hung agent: after `timeout` the run fails with `CoordinationError` naming the pattern
    and run, caused by the `TimeoutError`; the audit entry carries the same text."""
    k = Kaizen()
    trail = AuditTrail()
    ok = instant.agent(k, "ok", answers(answer="x"), "question -> answer")
    stuck = instant.agent(k, "stuck", hangs(), "question -> answer")
    with pytest.raises(CoordinationError, match=r"did not finish within 0\.05s$") as info:
        SequentialPipeline([ok, stuck], timeout=0.05, audit=trail).run(question="q")
    err = info.value
    (entry,) = trail.entries(COORDINATION)
    assert err.pattern == "sequential"
    assert err.run_id == entry.payload["run_id"] and HEX32.fullmatch(err.run_id)
    assert isinstance(err.cause, TimeoutError) and err.__cause__ is err.cause
    assert [s.agent_id for s in err.steps] == ["ok"]
    assert str(err) == f"sequential run {err.run_id} failed: did not finish within 0.05s"
    assert (entry.actor, entry.action, entry.outcome) == ("sequential", "run", "failed")
    assert dict(entry.payload) == {
        "run_id": err.run_id,
        "agents": ["ok", "stuck"],
        "steps": 1,
        "failed_steps": 0,
        "error": str(err),
    }


def test_run_inside_a_loop_names_the_pattern_class(instant: Instant) -> None:
    """The sync entry point refuses a running loop, naming the class and `arun`."""
    k = Kaizen()
    a = instant.agent(k, "a", answers(answer="x"), "question -> answer")

    async def inner() -> None:
        with pytest.raises(
            RuntimeError, match=r"^ParallelFanOut\.run\(\) called inside a running event loop"
        ):
            ParallelFanOut([a]).run(question="q")

    asyncio.run(inner())


def test_a_failing_callback_is_a_typed_error_and_audited(instant: Instant) -> None:
    """User code (here `aggregate`) that raises: a `CoordinationError` caused by it, and the
    run is still audited as failed (it used to escape as the raw error, unaudited)."""
    k = Kaizen()
    trail = AuditTrail()
    a = instant.agent(k, "a", answers(answer="x"), "question -> answer")

    def aggregate(results: dict[str, Any]) -> dict[str, Any]:
        raise ValueError("no majority")

    with pytest.raises(CoordinationError, match="ValueError: no majority") as info:
        ParallelFanOut([a], aggregate=aggregate, audit=trail).run(question="q")
    assert isinstance(info.value.cause, ValueError)
    (entry,) = trail.entries(COORDINATION)
    assert (entry.action, entry.outcome) == ("run", "failed")
    assert "ValueError: no majority" in entry.payload["error"]


def test_a_failing_callback_error_names_the_pattern_and_the_run(instant: Instant) -> None:
    k = Kaizen()
    trail = AuditTrail()
    a = instant.agent(k, "a", answers(answer="x"), "question -> answer")

    def aggregate(results: dict[str, Any]) -> dict[str, Any]:
        raise KeyError("votes")

    with pytest.raises(CoordinationError) as info:
        ParallelFanOut([a], aggregate=aggregate, audit=trail).run(question="q")
    (entry,) = trail.entries(COORDINATION)
    assert info.value.pattern == "parallel" and info.value.run_id == entry.payload["run_id"]
    assert HEX32.fullmatch(info.value.run_id)
