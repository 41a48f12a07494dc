"""Coordination patterns take tool agents unchanged: each member runs its own tool loop
inside the pattern, and its tool calls land in the team's audit trail."""

from __future__ import annotations

import contextlib
import itertools
from collections.abc import Callable, Iterator

import pytest

from kaizen import Kaizen
from kaizen.agent import TOOL_CALL
from kaizen.audit import AuditTrail, InMemoryAuditStore
from kaizen.providers import Completion, ToolCall
from tests.utils.mock_providers import MockLLMProvider

_names = itertools.count()
LOOKED_UP: list[str] = []


def stock(sku: str) -> int:
    """Units in stock for a SKU.

    Args:
        sku: The product SKU.
    """
    LOOKED_UP.append(sku)
    return {"A-1": 4, "B-2": 9}.get(sku, 0)


def _call(sku: str) -> Completion:
    return Completion(text="", model="mock", tool_calls=(ToolCall("stock", {"sku": sku}, "c0"),))


@pytest.fixture
def team_of() -> Iterator[Callable[..., tuple[Kaizen, AuditTrail, list[MockLLMProvider]]]]:
    """Factory: a framework with an audit trail and one scripted tool agent per script."""
    with contextlib.ExitStack() as stack:

        def make(signature: str, *scripts: list, last: str | None = None) -> tuple:
            """`last`: a different signature for the last agent (a supervisor)."""
            LOOKED_UP.clear()
            k = Kaizen({"audit_enabled": True})
            trail = k.attach_audit(AuditTrail(InMemoryAuditStore()))
            providers = []
            for i, script in enumerate(scripts):
                provider = MockLLMProvider(name=f"mock-team-{next(_names)}", script=script)
                stack.enter_context(provider.registered())
                providers.append(provider)
                config = {"model": "mock", "provider": provider.name, "max_retries": 1}
                sig = last if last and i == len(scripts) - 1 else signature
                k.create_agent(f"a{i}", config, signature=sig, tools=[stock])
            return k, trail, providers

        yield make


def test_supervisor_worker_runs_each_workers_tool_loop(team_of) -> None:
    k, trail, _ = team_of(
        "task -> answer",
        [_call("A-1"), '{"answer": "4 units"}'],
        [_call("B-2"), '{"answer": "9 units"}'],
        ['{"summary": "A-1: 4, B-2: 9"}'],
        last="results -> summary",
    )
    team = k.supervisor_worker(["a0", "a1"], supervisor="a2")
    result = team.run(tasks=[{"task": "stock of A-1?"}, {"task": "stock of B-2?"}])
    assert result.success and result.outputs["summary"] == "A-1: 4, B-2: 9"
    assert sorted(r["answer"] for r in result.task_results) == ["4 units", "9 units"]
    assert sorted(LOOKED_UP) == ["A-1", "B-2"]
    calls = trail.entries(TOOL_CALL)
    assert sorted((e.actor, e.payload["arguments"]["sku"], e.payload["result"]) for e in calls) == [
        ("a0", "A-1", "4"),
        ("a1", "B-2", "9"),
    ]
    assert trail.verify().ok


def test_consensus_counts_the_votes_tool_agents_give_after_their_calls(team_of) -> None:
    k, trail, _ = team_of(
        "question -> vote",
        [_call("A-1"), '{"vote": "yes"}'],
        [_call("B-2"), '{"vote": "yes"}'],
        ['{"vote": "no"}'],  # a member that answers without a tool call is fine too
    )
    result = k.consensus(["a0", "a1", "a2"]).run(question="Is anything in stock?")
    assert result.success and result.decision == "yes"
    assert sorted(LOOKED_UP) == ["A-1", "B-2"]
    assert len(trail.entries(TOOL_CALL)) == 2


def test_a_tool_agent_that_hits_max_steps_fails_its_step_typed_not_the_process(team_of) -> None:
    k, _, _ = team_of(
        "task -> answer",
        [_call("A-1")] * 8,  # never answers
        [_call("B-2"), '{"answer": "9 units"}'],
    )
    team = k.parallel(["a0", "a1"], min_success=1)
    result = team.run(task="stock?")
    failed = [s for s in result.steps if s.status == "failed"]
    assert [s.agent_id for s in failed] == ["a0"]
    assert "ToolLoopLimitError" in (failed[0].error or "")
