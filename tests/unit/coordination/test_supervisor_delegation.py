"""Supervisor-worker delegation details: the task list's validation, what `route` is called
with, how many attempts a task gets by default, who a failed task is reassigned to (and
that the last failure is not "reassigned"), what the supervisor is shown (JSON of results
and tasks, including values JSON cannot hold), a failing supervisor, `aggregate`, and the
default outputs and per-task results, including a failed task's empty entry."""

from __future__ import annotations

import datetime as dt
from enum import Enum
from typing import Any

import pytest

from kaizen import Kaizen
from kaizen.coordination import CoordinationError, Reassignment, SupervisorWorker
from kaizen.errors import ConfigurationError
from kaizen.signatures import InputField, OutputField, Signature
from tests.unit.coordination.conftest import Instant, answers, fails


class Colour(Enum):
    RED = 1


class PickColour(Signature):
    """Pick a colour for the task."""

    task: str = InputField(desc="the task")
    colour: Colour = OutputField(desc="the colour")


@pytest.mark.parametrize("tasks", [[], "abc", b"abc", 5, None])
def test_tasks_must_be_a_non_empty_list(instant: Instant, tasks: Any) -> None:
    k = Kaizen()
    w = instant.agent(k, "w", answers(answer="a"), "task -> answer")
    with pytest.raises(ConfigurationError) as info:
        SupervisorWorker([w]).run(tasks=tasks)
    assert info.value.key == "tasks"
    assert str(info.value) == "tasks: must be a non-empty list of dicts or strings"


def test_missing_tasks_is_a_configuration_error(instant: Instant) -> None:
    k = Kaizen()
    w = instant.agent(k, "w", answers(answer="a"), "task -> answer")
    with pytest.raises(ConfigurationError, match=r"^tasks: must be a non-empty list"):
        SupervisorWorker([w]).run()


def test_route_gets_index_task_and_worker_ids(instant: Instant) -> None:
    """`route(index, task, worker_ids)` sees the task as a dict; its pick does the task."""
    k = Kaizen()
    w1 = instant.agent(k, "w1", answers(answer="1"), "task -> answer")
    w2 = instant.agent(k, "w2", answers(answer="2"), "task -> answer")
    seen: list[tuple[Any, ...]] = []

    def route(index: int, task: Any, ids: tuple[str, ...]) -> str:
        seen.append((index, dict(task), ids))
        return ids[1] if task["task"] == "b" else ids[0]

    result = SupervisorWorker([w1, w2], route=route).run(tasks=["a", {"task": "b"}])
    assert sorted(seen) == [(0, {"task": "a"}, ("w1", "w2")), (1, {"task": "b"}, ("w1", "w2"))]
    assert result.assignments == {"task-0": "w1", "task-1": "w2"}


def test_route_naming_no_worker_is_refused(instant: Instant) -> None:
    k = Kaizen()
    w = instant.agent(k, "w", answers(answer="a"), "task -> answer")
    with pytest.raises(ConfigurationError) as info:
        SupervisorWorker([w], route=lambda i, t, ids: "nobody").run(tasks=["a"])
    assert info.value.key == "route"
    assert str(info.value) == "route: returned 'nobody', not one of ('w',)"


def test_default_is_two_attempts_per_task(instant: Instant) -> None:
    """Three failing workers, default max_attempts: each task is tried on two of them."""
    k = Kaizen()
    workers = [instant.agent(k, f"w{i}", fails(), "task -> answer") for i in range(3)]
    result = SupervisorWorker(workers, allow_partial=True).run(tasks=["a"])
    assert [(s.agent_id, s.attempt) for s in result.steps] == [("w0", 1), ("w1", 2)]
    assert result.failed_tasks == ("task-0",)


def test_reassignment_goes_to_the_next_worker_and_stops_at_the_last_attempt(
    instant: Instant,
) -> None:
    """A failed task moves to the next worker in order; the final failure is no
    reassignment (there is nobody left to take it)."""
    k = Kaizen()
    workers = [instant.agent(k, f"w{i}", fails(f"w{i} down"), "task -> answer") for i in range(3)]
    result = SupervisorWorker(workers, max_attempts=2, allow_partial=True).run(tasks=["a"])
    assert result.reassignments == (
        Reassignment("task-0", "w0", "w1", "ProviderConnectionError: w0 down (instant)"),
    )
    assert result.task_results == ({},)
    assert result.outputs == {"results": []}


def test_outputs_and_task_results_without_supervisor(instant: Instant) -> None:
    """No supervisor, no aggregate: outputs are the successful results in task order; the
    per-task results keep a failed task's place as an empty dict."""
    k = Kaizen()
    ok = instant.agent(k, "ok", answers(answer="x"), "task -> answer")
    bad = instant.agent(k, "bad", fails(), "task -> answer")
    team = SupervisorWorker([ok, bad], max_attempts=1, allow_partial=True)
    result = team.run(tasks=["a", "b", "c"])
    assert result.outputs == {"results": [{"answer": "x"}, {"answer": "x"}]}
    assert result.task_results == ({"answer": "x"}, {}, {"answer": "x"})
    assert result.failed_tasks == ("task-1",) and not result.success


def test_aggregate_folds_the_results(instant: Instant) -> None:
    k = Kaizen()
    w = instant.agent(k, "w", answers(answer="x"), "task -> answer")
    team = SupervisorWorker([w], aggregate=lambda done: {"count": len(done)})
    assert team.run(tasks=["a", "b"]).outputs == {"count": 2}


def test_supervisor_sees_results_and_tasks_as_json(instant: Instant) -> None:
    """Values JSON cannot hold (an Enum output, a date in a task) are shown as text."""
    k = Kaizen()
    w = instant.agent(k, "w", answers(colour=1), PickColour)
    boss = instant.agent(k, "boss", answers(summary="s"), "results, tasks -> summary")
    result = SupervisorWorker([w], boss).run(tasks=[{"task": "a", "due": dt.date(2024, 1, 2)}])
    (step,) = result.by_agent("boss")
    assert step.role == "supervisor"
    assert step.inputs == {
        "results": '[{"colour": "Colour.RED"}]',
        "tasks": '[{"task": "a", "due": "2024-01-02"}]',
    }
    assert result.outputs == {"summary": "s", "results": [{"colour": Colour.RED}]}


def test_a_failing_supervisor_fails_the_run(instant: Instant) -> None:
    k = Kaizen()
    w = instant.agent(k, "w", answers(answer="x"), "task -> answer")
    boss = instant.agent(k, "boss", fails(), "results -> summary")
    with pytest.raises(CoordinationError, match=r"failed: supervisor boss failed to aggregate;"):
        SupervisorWorker([w], boss).run(tasks=["a"])
