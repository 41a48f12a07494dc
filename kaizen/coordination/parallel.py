"""Parallel fan-out/fan-in: every agent gets the same inputs at once; results are gathered
by agent id and optionally folded by `aggregate(results) -> dict`. `min_success` (default:
all) says how many must succeed; fewer raises `CoordinationError`."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from kaizen.coordination._base import Pattern, Recorder, check_agents
from kaizen.coordination.results import ParallelResult
from kaizen.errors import ConfigurationError

if TYPE_CHECKING:
    from kaizen.agent import Agent

Aggregate = Callable[[Mapping[str, Mapping[str, Any]]], Mapping[str, Any]]


class ParallelFanOut(Pattern):
    name = "parallel"

    def __init__(
        self,
        agents: Sequence[Agent],
        *,
        aggregate: Aggregate | None = None,
        min_success: int | None = None,
        **options: Any,
    ) -> None:
        super().__init__(**options)
        self.workers = check_agents(agents, "agents")
        if aggregate is not None and not callable(aggregate):
            raise ConfigurationError("aggregate", "must be callable(results) -> dict")
        if min_success is not None and not 1 <= min_success <= len(self.workers):
            raise ConfigurationError(
                "min_success", f"must be between 1 and {len(self.workers)}, got {min_success!r}"
            )
        self.aggregate = aggregate
        self.min_success = min_success or len(self.workers)

    @property
    def agents(self) -> tuple[Agent, ...]:
        return self.workers

    async def _execute(self, inputs: dict[str, Any], rec: Recorder) -> ParallelResult:
        steps = await asyncio.gather(*(rec.call(a, "worker", inputs) for a in self.workers))
        results = {s.agent_id: dict(s.outputs) for s in steps if s.status == "ok"}
        failed = tuple(s.agent_id for s in steps if s.status == "failed")
        if len(results) < self.min_success:
            raise self._fail(
                rec,
                f"{len(results)} of {len(self.workers)} agents succeeded, "
                f"{self.min_success} required",
            )
        outputs = dict(self.aggregate(results)) if self.aggregate else {"results": results}
        return ParallelResult(
            **self._finish(rec, success=not failed, outputs=outputs),
            results=results,
            failed=failed,
        )
