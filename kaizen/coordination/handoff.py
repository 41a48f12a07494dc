"""Handoff: tiered escalation. Tier 0 tries first; a tier escalates to the next when its
call fails, when `escalate_when(outputs)` returns a reason, or when its
`confidence_field` is below `min_confidence`. At `max_tier` the chain stops: the last
answer is returned with `resolved=False` (or, if that tier failed, `CoordinationError`).
At most `max_tier + 1` calls, by construction."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from kaizen.coordination._base import Pattern, Recorder, check_agents
from kaizen.coordination.results import Escalation, HandoffResult
from kaizen.errors import ConfigurationError

if TYPE_CHECKING:
    from kaizen.agent import Agent

EscalateWhen = Callable[[Mapping[str, Any]], str | None]


class Handoff(Pattern):
    name = "handoff"

    def __init__(
        self,
        tiers: Sequence[Agent],
        *,
        max_tier: int | None = None,
        escalate_when: EscalateWhen | None = None,
        confidence_field: str = "confidence",
        min_confidence: float | None = None,
        **options: Any,
    ) -> None:
        super().__init__(**options)
        self.tiers = check_agents(tiers, "tiers")
        top = len(self.tiers) - 1
        max_tier = top if max_tier is None else max_tier
        if isinstance(max_tier, bool) or not isinstance(max_tier, int) or not 0 <= max_tier <= top:
            raise ConfigurationError("max_tier", f"must be an integer 0..{top}, got {max_tier!r}")
        if escalate_when is not None and not callable(escalate_when):
            raise ConfigurationError("escalate_when", "must be callable(outputs) -> reason|None")
        if min_confidence is not None:
            for agent in self.tiers[: max_tier + 1]:
                if confidence_field not in agent.output_names:
                    raise ConfigurationError(
                        "confidence_field",
                        f"tier agent {agent.agent_id!r} has no output {confidence_field!r}",
                    )
        self.max_tier = max_tier
        self.escalate_when = escalate_when
        self.confidence_field = confidence_field
        self.min_confidence = min_confidence

    @property
    def agents(self) -> tuple[Agent, ...]:
        return self.tiers[: self.max_tier + 1]

    def _reason(self, outputs: Mapping[str, Any]) -> str | None:
        if self.min_confidence is not None:
            value = outputs.get(self.confidence_field)
            if not isinstance(value, int | float) or value < self.min_confidence:
                return f"{self.confidence_field}={value!r} below {self.min_confidence:g}"
        if self.escalate_when is not None:
            return self.escalate_when(outputs)
        return None

    async def _execute(self, inputs: dict[str, Any], rec: Recorder) -> HandoffResult:
        escalations: list[Escalation] = []
        context = dict(inputs)
        for tier, agent in enumerate(self.agents):
            step = await rec.call(agent, f"tier-{tier}", context, round=tier)
            reason: str | None
            if step.status == "failed":
                reason = f"failed: {step.error}"
            else:
                reason = self._reason(step.outputs)
                if reason is None:
                    return HandoffResult(
                        **self._finish(rec, success=True, outputs=dict(step.outputs)),
                        handled_by=agent.agent_id,
                        tier=tier,
                        resolved=True,
                        escalations=tuple(escalations),
                    )
            if tier == self.max_tier:
                if step.status == "failed":
                    raise self._fail(rec, f"max tier {tier} ({agent.agent_id}) failed")
                escalations.append(Escalation(tier, agent.agent_id, f"{reason}; max tier reached"))
                return HandoffResult(
                    **self._finish(rec, success=False, outputs=dict(step.outputs)),
                    handled_by=agent.agent_id,
                    tier=tier,
                    resolved=False,
                    escalations=tuple(escalations),
                )
            escalations.append(Escalation(tier, agent.agent_id, reason))
            context = {**inputs, **step.outputs}
        raise AssertionError("unreachable: the loop returns at max_tier")  # pragma: no cover
