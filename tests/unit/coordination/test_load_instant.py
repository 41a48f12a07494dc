"""Load on the fake LLM (function mode): 100 agents at once, nothing lost, bounded memory."""

from __future__ import annotations

import tracemalloc

from kaizen import Kaizen
from kaizen.audit import AGENT_RUN, AuditTrail
from kaizen.memory import InMemoryConversationMemory
from tests.unit.coordination.conftest import Instant, answers


async def test_hundred_agents_concurrently_each_run_recorded_once(instant: Instant) -> None:
    tracemalloc.start()
    try:
        k = Kaizen({"audit_enabled": True})
        trail = k.attach_audit(AuditTrail())
        ids = [
            instant.agent(k, f"agent{i:03d}", answers(answer=f"r{i}"), "task -> answer").agent_id
            for i in range(100)
        ]
        instant.overlap(*ids)  # all 100 calls must be in flight together to finish
        team = k.create_agent_team(
            "load", ids, pattern="parallel", memory=InMemoryConversationMemory(max_turns=200)
        )
        result = await team.arun(task="t")
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert result.success and len(result.results) == 100
    runs = trail.entries(AGENT_RUN)
    assert len(runs) == 100
    assert sorted(e.actor for e in runs) == sorted(ids)
    assert len({e.payload["run_id"] for e in runs}) == 100
    assert trail.verify().ok
    assert len(team.memory.read()) == 100
    assert peak < 200 * 1024 * 1024, f"peak traced memory {peak / 2**20:.1f} MB"
