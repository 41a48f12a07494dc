"""Sequential pipeline: each stage sees the run's inputs plus every earlier stage's outputs
(later outputs win on a name clash). Terminates after the last stage; a failed stage stops
the pipeline with `CoordinationError`."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from kaizen.coordination._base import Pattern, Recorder, check_agents
from kaizen.coordination.results import PipelineResult

if TYPE_CHECKING:
    from kaizen.agent import Agent


class SequentialPipeline(Pattern):
    name = "sequential"

    def __init__(self, stages: Sequence[Agent], **options: Any) -> None:
        super().__init__(**options)
        self.stages = check_agents(stages, "stages")

    @property
    def agents(self) -> tuple[Agent, ...]:
        return self.stages

    async def _execute(self, inputs: dict[str, Any], rec: Recorder) -> PipelineResult:
        context = dict(inputs)
        outputs: dict[str, Any] = {}
        for index, agent in enumerate(self.stages, start=1):
            step = await rec.call(agent, f"stage-{index}", context)
            if step.status == "failed":
                raise self._fail(rec, f"stage {index} ({agent.agent_id}) failed")
            outputs = dict(step.outputs)
            context.update(outputs)
        return PipelineResult(**self._finish(rec, success=True, outputs=outputs))
