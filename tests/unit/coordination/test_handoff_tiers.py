"""Handoff escalation details: each tier's call is recorded with its tier role and number,
a failed tier escalates with its error as the reason, confidence exactly at the minimum is
enough, `escalate_when` is consulted, and a run that stops at `max_tier` returns that
tier's answer as an unresolved, unsuccessful result with the full escalation record."""

from __future__ import annotations

from kaizen import Kaizen
from kaizen.coordination import Escalation, Handoff
from tests.unit.coordination.conftest import Instant, answers, fails

SIG = "question -> answer, confidence: float"


def test_a_failed_tier_escalates_with_its_error(instant: Instant) -> None:
    k = Kaizen()
    t0 = instant.agent(k, "t0", fails("t0 down"), "question -> answer")
    t1 = instant.agent(k, "t1", answers(answer="ok"), "question -> answer")
    result = Handoff([t0, t1]).run(question="q")
    assert result.resolved and result.success and result.handled_by == "t1"
    assert result.tier == 1 and result.outputs == {"answer": "ok"}
    assert result.escalations == (
        Escalation(0, "t0", "failed: ProviderConnectionError: t0 down (instant)"),
    )
    assert [(s.role, s.round) for s in result.steps] == [("tier-0", 0), ("tier-1", 1)]


def test_escalation_passes_the_lower_tier_outputs_up(instant: Instant) -> None:
    """The next tier sees the run's inputs plus the previous tier's answer."""
    k = Kaizen()
    t0 = instant.agent(k, "t0", answers(answer="draft", confidence=0.2), SIG)
    sig1 = "question, answer -> final, confidence: float"
    t1 = instant.agent(k, "t1", answers(final="final", confidence=0.9), sig1)
    result = Handoff([t0, t1], min_confidence=0.5).run(question="q")
    assert result.steps[1].inputs == {"question": "q", "answer": "draft"}
    assert result.escalations == (Escalation(0, "t0", "confidence=0.2 below 0.5"),)
    assert result.outputs == {"final": "final", "confidence": 0.9}


def test_confidence_at_the_minimum_is_enough(instant: Instant) -> None:
    k = Kaizen()
    t0 = instant.agent(k, "t0", answers(answer="a", confidence=0.5), SIG)
    t1 = instant.agent(k, "t1", answers(answer="b", confidence=0.9), SIG)
    result = Handoff([t0, t1], min_confidence=0.5).run(question="q")
    assert result.resolved and result.handled_by == "t0" and result.escalations == ()
    assert len(result.steps) == 1


def test_escalate_when_gives_the_reason(instant: Instant) -> None:
    k = Kaizen()
    t0 = instant.agent(k, "t0", answers(answer="unsure"), "question -> answer")
    t1 = instant.agent(k, "t1", answers(answer="sure"), "question -> answer")

    def escalate(outputs: object) -> str | None:
        return "needs a human" if outputs == {"answer": "unsure"} else None

    result = Handoff([t0, t1], escalate_when=escalate).run(question="q")
    assert result.handled_by == "t1" and result.tier == 1
    assert result.escalations == (Escalation(0, "t0", "needs a human"),)


def test_stopping_at_max_tier_returns_an_unresolved_result(instant: Instant) -> None:
    """All tiers unsure: the max tier's answer, resolved=False, success=False, and every
    tier's escalation (the last marked "max tier reached")."""
    k = Kaizen()
    t0 = instant.agent(k, "t0", answers(answer="a0", confidence=0.1), SIG)
    t1 = instant.agent(k, "t1", answers(answer="a1", confidence=0.2), SIG)
    result = Handoff([t0, t1], min_confidence=0.5).run(question="q")
    assert result.resolved is False and result.success is False
    assert result.handled_by == "t1" and result.tier == 1
    assert result.outputs == {"answer": "a1", "confidence": 0.2}
    assert result.escalations == (
        Escalation(0, "t0", "confidence=0.1 below 0.5"),
        Escalation(1, "t1", "confidence=0.2 below 0.5; max tier reached"),
    )
