"""Debate mechanics: what each debater is given per round (its position, the round number,
the opponent's previous argument, the transcript so far), the exact transcript text the
judge reads, the roles and rounds recorded per call, and which side's failure ends the run
with which message. Debaters and judge are prompted from these inputs, so a wrong or
missing value changes what the model argues about."""

from __future__ import annotations

import pytest

from kaizen import Kaizen
from kaizen.coordination import CoordinationError, Debate
from tests.unit.coordination.conftest import Instant, answers, fails

DEBATER = "topic, position, opponent_argument, round: int, transcript -> argument"


def test_debaters_get_position_round_opponent_and_transcript(instant: Instant) -> None:
    k = Kaizen()
    pro = instant.agent(k, "pro", answers(argument="pro-arg"), DEBATER)
    con = instant.agent(k, "con", answers(argument="con-arg"), DEBATER)
    judge = instant.agent(k, "judge", answers(winner="for"), "topic, transcript -> winner")
    result = Debate(pro, con, judge, rounds=2).run(topic="t")
    calls = [(s.agent_id, s.role, s.round) for s in result.steps]
    assert calls == [
        ("pro", "proponent", 1),
        ("con", "opponent", 1),
        ("pro", "proponent", 2),
        ("con", "opponent", 2),
        ("judge", "judge", None),
    ]
    first = "Round 1 for (pro): pro-arg\nRound 1 against (con): con-arg"
    p1, c1, p2, c2, verdict = (dict(s.inputs) for s in result.steps)
    assert p1 == {
        "topic": "t",
        "position": "for",
        "opponent_argument": "",
        "round": 1,
        "transcript": "",
    }
    assert c1 == {
        "topic": "t",
        "position": "against",
        "opponent_argument": "",
        "round": 1,
        "transcript": "",
    }
    assert p2 == {
        "topic": "t",
        "position": "for",
        "opponent_argument": "con-arg",
        "round": 2,
        "transcript": first,
    }
    assert c2 == {
        "topic": "t",
        "position": "against",
        "opponent_argument": "pro-arg",
        "round": 2,
        "transcript": first,
    }
    assert verdict == {
        "topic": "t",
        "transcript": first + "\nRound 2 for (pro): pro-arg\nRound 2 against (con): con-arg",
    }


def test_result_carries_transcript_and_verdict(instant: Instant) -> None:
    """The verdict is the result's outputs; the transcript labels each side's position."""
    k = Kaizen()
    pro = instant.agent(k, "pro", answers(argument="p"), "topic -> argument")
    con = instant.agent(k, "con", answers(argument="c"), "topic -> argument")
    judge = instant.agent(
        k, "judge", answers(winner="against", reason="r"), "transcript -> winner, reason"
    )
    result = Debate(pro, con, judge).run(topic="t")
    assert result.rounds == 2 and result.success
    assert result.outputs == {"winner": "against", "reason": "r"}
    assert result.verdict == {"winner": "against", "reason": "r"}
    assert [(t["round"], t["position"], t["agent_id"]) for t in result.transcript] == [
        (1, "for", "pro"),
        (1, "against", "con"),
        (2, "for", "pro"),
        (2, "against", "con"),
    ]


def test_non_text_arguments_enter_the_transcript_as_sorted_json(instant: Instant) -> None:
    k = Kaizen()
    pro = instant.agent(k, "pro", answers(argument={"z": 1, "a": 2}), "topic -> argument: dict")
    con = instant.agent(k, "con", answers(argument="c"), "topic -> argument")
    judge = instant.agent(k, "judge", answers(winner="for"), "transcript -> winner")
    result = Debate(pro, con, judge, rounds=1).run(topic="t")
    assert result.transcript[0]["argument"] == '{"a": 2, "z": 1}'


def test_a_failed_side_ends_the_debate_naming_side_and_round(instant: Instant) -> None:
    k = Kaizen()
    pro = instant.agent(k, "pro", fails(), "topic -> argument")
    con = instant.agent(k, "con", answers(argument="c"), "topic -> argument")
    judge = instant.agent(k, "judge", answers(winner="for"), "transcript -> winner")
    with pytest.raises(CoordinationError, match=r"failed: for side \(pro\) failed in round 1;"):
        Debate(pro, con, judge).run(topic="t")
    with pytest.raises(
        CoordinationError, match=r"failed: against side \(pro\) failed in round 1;"
    ) as info:
        Debate(con, pro, judge).run(topic="t")
    assert [s.agent_id for s in info.value.steps] == ["con", "pro"]


def test_a_failed_judge_ends_the_debate(instant: Instant) -> None:
    k = Kaizen()
    pro = instant.agent(k, "pro", answers(argument="p"), "topic -> argument")
    con = instant.agent(k, "con", answers(argument="c"), "topic -> argument")
    judge = instant.agent(k, "judge", fails(), "transcript -> winner")
    with pytest.raises(CoordinationError, match=r"failed: judge judge failed;") as info:
        Debate(pro, con, judge, rounds=1).run(topic="t")
    assert [s.role for s in info.value.steps] == ["proponent", "opponent", "judge"]
