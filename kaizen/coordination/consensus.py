"""Consensus: every agent votes at once; the decision is COUNTED in code. An option wins
when its votes reach `threshold` of ALL agents (failed or invalid votes count as
abstentions, so failures can never turn a minority into a majority) and no other option
has as many. The model never decides; it only votes."""

from __future__ import annotations

import asyncio
import math
from collections import Counter
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from kaizen.coordination._base import Pattern, Recorder, check_agents
from kaizen.coordination.results import ConsensusResult
from kaizen.errors import ConfigurationError

if TYPE_CHECKING:
    from kaizen.agent import Agent


def normalise_vote(value: Any) -> str | None:
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, int | float) and not isinstance(value, bool):
        return str(value)
    if isinstance(value, str) and value.strip():
        return " ".join(value.strip().lower().split())
    return None


class Consensus(Pattern):
    name = "consensus"

    def __init__(
        self,
        agents: Sequence[Agent],
        *,
        threshold: float = 0.5,
        vote_field: str = "vote",
        choices: Sequence[Any] | None = None,
        **options: Any,
    ) -> None:
        super().__init__(**options)
        self.voters = check_agents(agents, "agents")
        if (
            isinstance(threshold, bool)
            or not isinstance(threshold, int | float)
            or not (0 < threshold <= 1)
        ):
            raise ConfigurationError("threshold", f"must be in (0, 1], got {threshold!r}")
        for agent in self.voters:
            if vote_field not in agent.output_names:
                raise ConfigurationError(
                    "vote_field",
                    f"agent {agent.agent_id!r} has no output {vote_field!r} "
                    f"(outputs: {', '.join(agent.output_names)})",
                )
        self.threshold = float(threshold)
        self.vote_field = vote_field
        self.choices = None if choices is None else {normalise_vote(c) for c in choices}

    @property
    def agents(self) -> tuple[Agent, ...]:
        return self.voters

    @property
    def votes_needed(self) -> int:
        return math.ceil(self.threshold * len(self.voters) - 1e-9)

    async def _execute(self, inputs: dict[str, Any], rec: Recorder) -> ConsensusResult:
        steps = await asyncio.gather(*(rec.call(a, "voter", inputs) for a in self.voters))
        votes: dict[str, Any] = {}
        abstained: list[str] = []
        for step in steps:
            vote = (
                normalise_vote(step.outputs.get(self.vote_field)) if step.status == "ok" else None
            )
            if vote is None or (self.choices is not None and vote not in self.choices):
                abstained.append(step.agent_id)
                votes[step.agent_id] = None
            else:
                votes[step.agent_id] = vote
        if len(abstained) == len(self.voters):
            raise self._fail(rec, "no agent cast a valid vote")
        tally = Counter(v for v in votes.values() if v is not None)
        ranked = tally.most_common()
        top, top_count = ranked[0]
        tie = len(ranked) > 1 and ranked[1][1] == top_count
        reached = top_count >= self.votes_needed and not tie
        decision = top if reached else None
        outputs = {
            "decision": decision,
            "reached": reached,
            "votes_for_decision": top_count if reached else 0,
            "votes_needed": self.votes_needed,
        }
        return ConsensusResult(
            **self._finish(rec, success=reached, outputs=outputs),
            decision=decision,
            reached=reached,
            tally=dict(tally),
            threshold=self.threshold,
            votes=votes,
            abstained=tuple(abstained),
        )
