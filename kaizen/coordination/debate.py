"""Debate: for `rounds` rounds a proponent and an opponent argue at once, each answering
the other's previous argument; then a judge reads the transcript and gives the verdict.
Terminates after `rounds` rounds (1..10) and one judgement.

Inputs the debaters may declare: the run's inputs plus `position` ("for"/"against"),
`round`, `opponent_argument` and `transcript`; the judge may declare the run's inputs plus
`transcript`."""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING, Any

from kaizen.coordination._base import Pattern, Recorder, check_agents, to_text
from kaizen.coordination.results import DebateResult
from kaizen.errors import ConfigurationError

if TYPE_CHECKING:
    from kaizen.agent import Agent

MAX_ROUNDS = 10


class Debate(Pattern):
    name = "debate"

    def __init__(
        self,
        proponent: Agent,
        opponent: Agent,
        judge: Agent,
        *,
        rounds: int = 2,
        argument_field: str = "argument",
        **options: Any,
    ) -> None:
        super().__init__(**options)
        self.proponent, self.opponent, self.judge = check_agents(
            [proponent, opponent, judge], "agents", minimum=3
        )
        if isinstance(rounds, bool) or not isinstance(rounds, int) or not 1 <= rounds <= MAX_ROUNDS:
            raise ConfigurationError(
                "rounds", f"must be an integer 1..{MAX_ROUNDS}, got {rounds!r}"
            )
        for agent in (self.proponent, self.opponent):
            if argument_field not in agent.output_names:
                raise ConfigurationError(
                    "argument_field",
                    f"debater {agent.agent_id!r} has no output {argument_field!r}",
                )
        self.rounds = rounds
        self.argument_field = argument_field

    @property
    def agents(self) -> tuple[Agent, ...]:
        return (self.proponent, self.opponent, self.judge)

    async def _execute(self, inputs: dict[str, Any], rec: Recorder) -> DebateResult:
        transcript: list[dict[str, Any]] = []
        last = {"for": "", "against": ""}

        def text() -> str:
            return "\n".join(
                f"Round {t['round']} {t['position']} ({t['agent_id']}): {t['argument']}"
                for t in transcript
            )

        for round_no in range(1, self.rounds + 1):
            shared = {**inputs, "round": round_no, "transcript": text()}
            pro, con = await asyncio.gather(
                rec.call(
                    self.proponent,
                    "proponent",
                    {**shared, "position": "for", "opponent_argument": last["against"]},
                    round=round_no,
                ),
                rec.call(
                    self.opponent,
                    "opponent",
                    {**shared, "position": "against", "opponent_argument": last["for"]},
                    round=round_no,
                ),
            )
            for step, position in ((pro, "for"), (con, "against")):
                if step.status == "failed":
                    raise self._fail(
                        rec, f"{position} side ({step.agent_id}) failed in round {round_no}"
                    )
                argument = to_text(step.outputs[self.argument_field])
                last[position] = argument
                transcript.append(
                    {
                        "round": round_no,
                        "position": position,
                        "agent_id": step.agent_id,
                        "argument": argument,
                    }
                )
        verdict = await rec.call(self.judge, "judge", {**inputs, "transcript": text()})
        if verdict.status == "failed":
            raise self._fail(rec, f"judge {self.judge.agent_id} failed")
        return DebateResult(
            **self._finish(rec, success=True, outputs=dict(verdict.outputs)),
            rounds=self.rounds,
            transcript=tuple(transcript),
            verdict=dict(verdict.outputs),
        )
