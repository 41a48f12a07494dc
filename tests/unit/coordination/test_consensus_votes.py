"""Consensus counting: how raw vote values are normalised (bools, numbers, case and spacing;
blank or non-scalar votes abstain), how `choices` restricts valid votes, and the exact
result the count produces (outputs, tally, threshold, abstentions), reached or not. The
decision is made in code, so these are exact, not approximate."""

from __future__ import annotations

import pytest

from kaizen import Kaizen
from kaizen.coordination import Consensus, CoordinationError
from tests.unit.coordination.conftest import Instant, answers, fails


def test_reached_result_is_exact(instant: Instant) -> None:
    k = Kaizen()
    sig = "proposal -> vote"
    voters = [
        instant.agent(k, f"v{i}", answers(vote=v), sig)
        for i, v in enumerate(["approve", "approve", "reject"])
    ]
    result = Consensus(voters, threshold=0.6).run(proposal="p")
    assert result.outputs == {
        "decision": "approve",
        "reached": True,
        "votes_for_decision": 2,
        "votes_needed": 2,
    }
    assert result.threshold == 0.6 and result.success
    assert result.votes == {"v0": "approve", "v1": "approve", "v2": "reject"}
    assert [(s.agent_id, s.role) for s in result.steps] == [
        ("v0", "voter"),
        ("v1", "voter"),
        ("v2", "voter"),
    ]


def test_unreached_result_counts_no_votes_for_a_decision(instant: Instant) -> None:
    """Not reached: no decision and zero votes for it, even though one option led."""
    k = Kaizen()
    sig = "proposal -> vote"
    voters = [
        instant.agent(k, f"v{i}", answers(vote=v), sig)
        for i, v in enumerate(["approve", "approve", "reject", "abstain"])
    ]
    result = Consensus(voters, threshold=0.75).run(proposal="p")
    assert result.outputs == {
        "decision": None,
        "reached": False,
        "votes_for_decision": 0,
        "votes_needed": 3,
    }
    assert result.threshold == 0.75 and not result.success
    assert result.tally == {"approve": 2, "reject": 1, "abstain": 1}


def test_votes_are_normalised(instant: Instant) -> None:
    """Case and inner whitespace do not split a vote; numbers count by their text."""
    k = Kaizen()
    words = instant.agent(k, "words", answers(vote="  Strongly   AGREE "), "proposal -> vote")
    same = instant.agent(k, "same", answers(vote="strongly agree"), "proposal -> vote")
    number = instant.agent(k, "number", answers(vote=3), "proposal -> vote: int")
    flag = instant.agent(k, "flag", answers(vote=True), "proposal -> vote: bool")
    result = Consensus([words, same, number, flag], threshold=0.5).run(proposal="p")
    assert result.votes == {
        "words": "strongly agree",
        "same": "strongly agree",
        "number": "3",
        "flag": "yes",
    }
    assert result.tally == {"strongly agree": 2, "3": 1, "yes": 1}
    assert result.reached and result.decision == "strongly agree"


def test_blank_and_non_scalar_votes_abstain(instant: Instant) -> None:
    """A blank string or a list is no vote: those agents abstain."""
    k = Kaizen()
    blank = instant.agent(k, "blank", answers(vote="   "), "proposal -> vote")
    listed = instant.agent(k, "listed", answers(vote=["yes"]), "proposal -> vote: list[str]")
    yes = instant.agent(k, "yes", answers(vote="yes"), "proposal -> vote")
    result = Consensus([blank, listed, yes], threshold=0.3).run(proposal="p")
    assert result.abstained == ("blank", "listed")
    assert result.votes == {"blank": None, "listed": None, "yes": "yes"}
    assert result.tally == {"yes": 1} and result.decision == "yes"


def test_choices_restrict_valid_votes(instant: Instant) -> None:
    """A vote outside `choices` (compared after normalising both) is an abstention."""
    k = Kaizen()
    sig = "proposal -> vote"
    a = instant.agent(k, "a", answers(vote="Approve"), sig)
    b = instant.agent(k, "b", answers(vote="approve"), sig)
    c = instant.agent(k, "c", answers(vote="maybe"), sig)
    result = Consensus([a, b, c], threshold=0.6, choices=["APPROVE", "reject"]).run(proposal="p")
    assert result.abstained == ("c",)
    assert result.votes == {"a": "approve", "b": "approve", "c": None}
    assert result.reached and result.decision == "approve"


def test_no_valid_vote_is_an_error(instant: Instant) -> None:
    """Every voter failed or abstained: a typed error, listing the failed calls."""
    k = Kaizen()
    down = instant.agent(k, "down", fails("gone"), "proposal -> vote")
    off = instant.agent(k, "off", answers(vote="maybe"), "proposal -> vote")
    with pytest.raises(
        CoordinationError,
        match=r"failed: no agent cast a valid vote; failed calls: down: ProviderConnectionError",
    ):
        Consensus([down, off], choices=["yes", "no"]).run(proposal="p")
