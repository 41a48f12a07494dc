"""How `Kaizen` builds teams (`create_agent_team`, `k.debate(...)`, ...): agent ids are
resolved for every agent argument, an explicitly passed audit trail wins over the
framework's, `audit_enabled` without a trail is refused with a message saying how to fix
it, bad team ids and pattern names are refused by key; and how a team composes as a
workflow node (`to_workflow()` defaults, the node's `result` output)."""

from __future__ import annotations

import pytest

from kaizen import Kaizen, LocalRuntime
from kaizen.audit import COORDINATION, AuditTrail
from kaizen.coordination import Debate, ParallelFanOut, SupervisorWorker
from kaizen.coordination.results import ParallelResult
from kaizen.coordination.team import create_agent_team
from kaizen.errors import ConfigurationError
from tests.unit.coordination.conftest import Instant, answers


def test_default_team_pattern_is_supervisor_worker(instant: Instant) -> None:
    k = Kaizen()
    instant.agent(k, "w", answers(answer="x"), "task -> answer")
    team = k.create_agent_team("t", ["w"])
    assert isinstance(team, SupervisorWorker)
    assert team.run(tasks=["a"]).outputs == {"results": [{"answer": "x"}]}
    assert isinstance(create_agent_team(k, "t", ["w"]), SupervisorWorker)  # the function's own


def test_debate_team_from_ids(instant: Instant) -> None:
    """A debate team takes its three agents, in order, by id."""
    k = Kaizen()
    instant.agent(k, "pro", answers(argument="p"), "topic -> argument")
    instant.agent(k, "con", answers(argument="c"), "topic -> argument")
    instant.agent(k, "judge", answers(winner="for"), "transcript -> winner")
    team = k.create_agent_team("d", ["pro", "con", "judge"], pattern="debate", rounds=1)
    assert isinstance(team, Debate)
    assert [a.agent_id for a in team.agents] == ["pro", "con", "judge"]
    assert team.run(topic="t").verdict == {"winner": "for"}


def test_debate_by_keyword_ids(instant: Instant) -> None:
    """`k.debate(proponent=..., opponent=..., judge=...)` resolves each id."""
    k = Kaizen()
    instant.agent(k, "pro", answers(argument="p"), "topic -> argument")
    instant.agent(k, "con", answers(argument="c"), "topic -> argument")
    instant.agent(k, "judge", answers(winner="for"), "transcript -> winner")
    team = k.debate("pro", "con", "judge")
    assert (team.proponent.agent_id, team.opponent.agent_id, team.judge.agent_id) == (
        "pro",
        "con",
        "judge",
    )


def test_supervisor_by_id(instant: Instant) -> None:
    k = Kaizen()
    instant.agent(k, "w", answers(answer="x"), "task -> answer")
    instant.agent(k, "boss", answers(summary="s"), "results -> summary")
    team = k.supervisor_worker(["w"], "boss")
    assert team.supervisor is k.get_agent("boss")


def test_team_id_must_be_a_non_empty_string(instant: Instant) -> None:
    k = Kaizen()
    instant.agent(k, "w", answers(answer="x"), "task -> answer")
    for bad in ("", None, 3):
        with pytest.raises(ConfigurationError) as info:
            k.create_agent_team(bad, ["w"])  # type: ignore[arg-type]
        assert str(info.value) == f"team_id: must be a non-empty string, got {bad!r}"


def test_unknown_pattern_lists_the_known_ones(instant: Instant) -> None:
    k = Kaizen()
    instant.agent(k, "w", answers(answer="x"), "task -> answer")
    with pytest.raises(ConfigurationError) as info:
        k.create_agent_team("t", ["w"], pattern="anarchy")
    assert info.value.key == "pattern"
    assert str(info.value) == (
        "pattern: unknown pattern 'anarchy'; use one of sequential, parallel, "
        "supervisor_worker, consensus, debate, handoff"
    )


def test_an_explicit_audit_trail_wins_over_the_frameworks(instant: Instant) -> None:
    k = Kaizen()
    attached = k.attach_audit(AuditTrail())
    own = AuditTrail()
    a = instant.agent(k, "a", answers(answer="x"), "question -> answer")
    team = k.parallel([a], audit=own)
    assert team.audit is own
    team.run(question="q")
    assert len(own.entries(COORDINATION)) == 1
    assert attached.entries(COORDINATION) == []


def test_the_frameworks_trail_is_the_default(instant: Instant) -> None:
    k = Kaizen()
    attached = k.attach_audit(AuditTrail())
    a = instant.agent(k, "a", answers(answer="x"), "question -> answer")
    assert k.parallel([a]).audit is attached


def test_audit_enabled_without_a_trail_says_how_to_fix_it(instant: Instant) -> None:
    k = Kaizen({"audit_enabled": True})
    a = instant.agent(k, "a", answers(answer="x"), "question -> answer")
    with pytest.raises(ConfigurationError) as info:
        k.parallel([a])
    assert info.value.key == "audit_enabled"
    assert str(info.value) == (
        "audit_enabled: is true but no audit trail is attached; call "
        "Kaizen.attach_audit(AuditTrail(...)) or pass audit=... to the team"
    )


def test_to_workflow_defaults_to_node_team_and_named_after_pattern(instant: Instant) -> None:
    """`to_workflow()` holds one node "team" in a builder named "<pattern>:<node id>"; the
    node's outputs include the typed result."""
    k = Kaizen()
    a = instant.agent(k, "a", answers(answer="x"), "question -> answer")
    builder = ParallelFanOut([a]).to_workflow()
    assert builder.name == "parallel:team"
    workflow = builder.build()
    assert workflow.name == "parallel:team"
    results, _ = LocalRuntime().execute(workflow, {"team": {"question": "q"}})
    node = results["team"]
    assert node["success"] is True and node["outputs"] == {"results": {"a": {"answer": "x"}}}
    assert isinstance(node["result"], ParallelResult)
    assert node["result"].results == {"a": {"answer": "x"}}
    assert ParallelFanOut([a]).to_workflow("crew").name == "parallel:crew"
