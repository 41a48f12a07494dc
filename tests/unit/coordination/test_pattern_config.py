"""Constructor validation of every pattern: a bad option is refused at construction with a
`ConfigurationError` whose `key` names the option and whose message says what is allowed,
and the boundary values that ARE allowed are accepted. Callers (and the workflow builder's
error reports) rely on the key to point at the offending argument."""

from __future__ import annotations

from typing import Any

import pytest

from kaizen import Kaizen
from kaizen.coordination import (
    Consensus,
    Debate,
    Handoff,
    ParallelFanOut,
    SequentialPipeline,
    SupervisorWorker,
)
from kaizen.errors import ConfigurationError
from tests.unit.coordination.conftest import Instant, answers


def refused(key: str, message: str, build: Any) -> None:
    """`build()` raises ConfigurationError for `key` with exactly `message`."""
    with pytest.raises(ConfigurationError) as info:
        build()
    assert info.value.key == key
    assert str(info.value) == f"{key}: {message}"


@pytest.mark.parametrize("timeout", [0, -1.5, True])
def test_timeout_must_be_positive(instant: Instant, timeout: Any) -> None:
    """Zero, negative and boolean timeouts are refused (zero would fail every run)."""
    k = Kaizen()
    a = instant.agent(k, "a", answers(answer="x"), "question -> answer")
    refused(
        "timeout",
        f"must be a positive number, got {timeout!r}",
        lambda: ParallelFanOut([a], timeout=timeout),
    )


def test_small_positive_timeout_is_accepted(instant: Instant) -> None:
    k = Kaizen()
    a = instant.agent(k, "a", answers(answer="x"), "question -> answer")
    assert ParallelFanOut([a], timeout=0.001).timeout == 0.001


def test_a_single_agent_is_not_a_list(instant: Instant) -> None:
    """Passing one Agent where a list is expected is named as such, not iterated."""
    k = Kaizen()
    a = instant.agent(k, "a", answers(answer="x"), "question -> answer")
    refused("agents", "must be a list of agents, got Agent", lambda: ParallelFanOut(a))


def test_an_unordered_collection_is_not_a_list(instant: Instant) -> None:
    """A set (no order, so no stage or tier order) or a generator is refused, not consumed."""
    k = Kaizen()
    a = instant.agent(k, "a", answers(answer="x"), "question -> answer")
    refused("agents", "must be a list of agents, got set", lambda: ParallelFanOut({a}))
    refused(
        "stages",
        "must be a list of agents, got generator",
        lambda: SequentialPipeline(x for x in [a]),
    )


def test_each_pattern_names_its_agent_argument(instant: Instant) -> None:
    """An empty agent list is reported under the pattern's own argument name."""
    k = Kaizen()
    a = instant.agent(k, "a", answers(answer="x"), "question -> answer")
    empty = "needs at least 1 agent(s), got 0"
    refused("agents", empty, lambda: ParallelFanOut([]))
    refused("stages", empty, lambda: SequentialPipeline([]))
    refused("workers", empty, lambda: SupervisorWorker([]))
    refused("agents", empty, lambda: Consensus([]))
    refused("tiers", empty, lambda: Handoff([]))
    refused(
        "supervisor",
        "every entry must be an Agent, got 'boss'",
        lambda: SupervisorWorker([a], "boss"),  # type: ignore[arg-type]
    )


def test_debate_needs_three_distinct_agents(instant: Instant) -> None:
    k = Kaizen()
    sig = "topic -> argument"
    pro = instant.agent(k, "pro", answers(argument="p"), sig)
    judge = instant.agent(k, "judge", answers(winner="for"), "transcript -> winner")
    refused(
        "agents",
        "agents must be distinct, got ['pro', 'pro', 'judge']",
        lambda: Debate(pro, pro, judge),
    )


@pytest.mark.parametrize("threshold", [0, 1.5, 2, True, -0.1])
def test_consensus_threshold_outside_zero_one_is_refused(instant: Instant, threshold: Any) -> None:
    k = Kaizen()
    v = instant.agent(k, "v", answers(vote="yes"), "proposal -> vote")
    refused(
        "threshold",
        f"must be in (0, 1], got {threshold!r}",
        lambda: Consensus([v], threshold=threshold),
    )


def test_consensus_threshold_one_means_unanimity(instant: Instant) -> None:
    """threshold=1 is allowed: every agent must agree."""
    k = Kaizen()
    votes = [instant.agent(k, f"v{i}", answers(vote="yes"), "proposal -> vote") for i in range(3)]
    result = Consensus(votes, threshold=1).run(proposal="p")
    assert result.threshold == 1.0 and result.reached and result.decision == "yes"
    assert result.outputs["votes_needed"] == 3


def test_consensus_vote_field_must_be_an_output(instant: Instant) -> None:
    """The message lists the agent's actual outputs, comma separated."""
    k = Kaizen()
    x = instant.agent(k, "x", answers(answer="a", reason="r"), "q -> answer, reason")
    refused(
        "vote_field",
        "agent 'x' has no output 'vote' (outputs: answer, reason)",
        lambda: Consensus([x]),
    )


def test_debate_rounds_default_and_bounds(instant: Instant) -> None:
    """Default two rounds; 1 and 10 allowed; 0, 11, a bool or a float refused."""
    k = Kaizen()
    sig = "topic -> argument"
    pro = instant.agent(k, "pro", answers(argument="p"), sig)
    con = instant.agent(k, "con", answers(argument="c"), sig)
    judge = instant.agent(k, "judge", answers(winner="for"), "transcript -> winner")
    assert Debate(pro, con, judge).rounds == 2
    assert Debate(pro, con, judge, rounds=1).rounds == 1
    assert Debate(pro, con, judge, rounds=10).rounds == 10
    for bad in (0, 11, True, 2.0):
        refused(
            "rounds",
            f"must be an integer 1..10, got {bad!r}",
            lambda bad=bad: Debate(pro, con, judge, rounds=bad),
        )


def test_debate_argument_field_must_be_a_debater_output(instant: Instant) -> None:
    k = Kaizen()
    pro = instant.agent(k, "pro", answers(argument="p"), "topic -> argument")
    con = instant.agent(k, "con", answers(point="c"), "topic -> point")
    judge = instant.agent(k, "judge", answers(winner="for"), "transcript -> winner")
    refused(
        "argument_field",
        "debater 'con' has no output 'argument'",
        lambda: Debate(pro, con, judge),
    )


def test_handoff_max_tier_bounds(instant: Instant) -> None:
    """max_tier must index an existing tier: 0..len-1, an int, not a bool."""
    k = Kaizen()
    tiers = [instant.agent(k, f"t{i}", answers(answer="a"), "question -> answer") for i in range(3)]
    assert Handoff(tiers).max_tier == 2
    assert Handoff(tiers, max_tier=0).max_tier == 0
    for bad in (3, -1, True, 1.0):
        refused(
            "max_tier",
            f"must be an integer 0..2, got {bad!r}",
            lambda bad=bad: Handoff(tiers, max_tier=bad),
        )


def test_handoff_escalate_when_must_be_callable(instant: Instant) -> None:
    k = Kaizen()
    t0 = instant.agent(k, "t0", answers(answer="a"), "question -> answer")
    assert Handoff([t0], escalate_when=lambda outputs: None).escalate_when is not None
    refused(
        "escalate_when",
        "must be callable(outputs) -> reason|None",
        lambda: Handoff([t0], escalate_when="sometimes"),  # type: ignore[arg-type]
    )


def test_handoff_confidence_field_checked_only_when_used(instant: Instant) -> None:
    """Without `min_confidence` no tier needs a confidence output."""
    k = Kaizen()
    t0 = instant.agent(k, "t0", answers(answer="a"), "question -> answer")
    t1 = instant.agent(k, "t1", answers(answer="b"), "question -> answer")
    assert Handoff([t0, t1]).min_confidence is None


def test_handoff_confidence_field_checked_on_every_reachable_tier(instant: Instant) -> None:
    """Every tier up to and including `max_tier` needs the confidence output; tiers beyond
    `max_tier` are never called, so they need not have it."""
    k = Kaizen()
    sig = "question -> answer, confidence: float"
    plain = instant.agent(k, "plain", answers(answer="a"), "question -> answer")
    sure = instant.agent(k, "sure", answers(answer="b", confidence=0.9), sig)
    sure2 = instant.agent(k, "sure2", answers(answer="c", confidence=0.9), sig)
    refused(
        "confidence_field",
        "tier agent 'plain' has no output 'confidence'",
        lambda: Handoff([plain, sure], min_confidence=0.5),
    )
    capped = Handoff([sure, sure2, plain], max_tier=1, min_confidence=0.5)
    assert [a.agent_id for a in capped.agents] == ["sure", "sure2"]


def test_parallel_min_success_bounds(instant: Instant) -> None:
    """min_success may be anything from 1 to the number of agents."""
    k = Kaizen()
    sig = "question -> answer"
    agents = [instant.agent(k, f"w{i}", answers(answer="a"), sig) for i in range(3)]
    assert ParallelFanOut(agents, min_success=3).min_success == 3
    assert ParallelFanOut(agents, min_success=1).min_success == 1
    assert ParallelFanOut(agents).min_success == 3
    for bad in (0, 4):
        refused(
            "min_success",
            f"must be between 1 and 3, got {bad!r}",
            lambda bad=bad: ParallelFanOut(agents, min_success=bad),
        )


def test_supervisor_max_attempts_bounds(instant: Instant) -> None:
    k = Kaizen()
    w = instant.agent(k, "w", answers(answer="a"), "task -> answer")
    for bad in (0, -1, True, 1.5):
        refused(
            "max_attempts",
            f"must be >= 1, got {bad!r}",
            lambda bad=bad: SupervisorWorker([w], max_attempts=bad),
        )


def test_supervisor_route_must_be_callable(instant: Instant) -> None:
    k = Kaizen()
    w = instant.agent(k, "w", answers(answer="a"), "task -> answer")
    refused(
        "route",
        "must be callable(index, task, worker_ids) -> id",
        lambda: SupervisorWorker([w], route="w"),  # type: ignore[arg-type]
    )


@pytest.mark.parametrize("timeout", ["5", [5]])
def test_a_timeout_that_is_not_a_number_is_a_configuration_error(
    instant: Instant, timeout: Any
) -> None:
    """Not a TypeError from comparing it with 0: the key and the value are named."""
    k = Kaizen()
    a = instant.agent(k, "a", answers(answer="x"), "question -> answer")
    with pytest.raises(ConfigurationError, match=r"^timeout: must be a positive number, got "):
        ParallelFanOut([a], timeout=timeout)


@pytest.mark.parametrize("limit", [0, -1, True, 1.5, "2"])
def test_max_concurrency_must_be_a_positive_integer(instant: Instant, limit: Any) -> None:
    k = Kaizen()
    a = instant.agent(k, "a", answers(answer="x"), "question -> answer")
    with pytest.raises(ConfigurationError) as info:
        ParallelFanOut([a], max_concurrency=limit)
    assert str(info.value) == f"max_concurrency: must be a positive integer, got {limit!r}"


def test_max_concurrency_of_one_is_accepted(instant: Instant) -> None:
    k = Kaizen()
    a = instant.agent(k, "a", answers(answer="x"), "question -> answer")
    assert ParallelFanOut([a], max_concurrency=1).max_concurrency == 1
