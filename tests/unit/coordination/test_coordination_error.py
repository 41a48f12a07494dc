"""`CoordinationError`'s message: "<pattern> run <id> failed: <why>", then the failed calls
("agent: error", separated by "; ") capped at five so a large team's failure stays
readable, and nothing appended when no call failed. Operators read this line first."""

from __future__ import annotations

import pytest

from kaizen import Kaizen
from kaizen.coordination import CoordinationError, SupervisorWorker
from tests.unit.coordination.conftest import Instant, fails


def test_failed_calls_are_listed_and_capped_at_five(instant: Instant) -> None:
    k = Kaizen()
    workers = [instant.agent(k, f"w{i}", fails(f"w{i} down"), "task -> answer") for i in range(3)]
    with pytest.raises(CoordinationError) as info:
        SupervisorWorker(workers, max_attempts=3).run(tasks=["a", "b"])
    err = info.value
    assert len(err.steps) == 6 and all(s.status == "failed" for s in err.steps)
    listed = "; ".join(
        f"{s.agent_id}: ProviderConnectionError: {s.agent_id} down (instant)" for s in err.steps[:5]
    )
    assert str(err) == (
        f"supervisor_worker run {err.run_id} failed: task(s) task-0, task-1 failed on every "
        f"attempt; failed calls: {listed}"
    )
    assert str(err).count("ProviderConnectionError") == 5


def test_no_failed_call_appends_nothing() -> None:
    err = CoordinationError("parallel", "r1", "gave up")
    assert str(err) == "parallel run r1 failed: gave up"
    assert (err.pattern, err.run_id, err.steps, err.cause) == ("parallel", "r1", (), None)
