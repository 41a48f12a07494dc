"""Coordination errors: a pattern that cannot produce its result says which agents failed."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from kaizen.errors import KaizenError

if TYPE_CHECKING:
    from kaizen.coordination.results import AgentStep


class CoordinationError(KaizenError):
    """A pattern run failed. `steps` holds every call made before it stopped (the failed
    ones carry their error), `cause` the first underlying error."""

    def __init__(
        self,
        pattern: str,
        run_id: str,
        message: str,
        steps: Sequence[AgentStep] = (),
        cause: BaseException | None = None,
    ) -> None:
        self.pattern = pattern
        self.run_id = run_id
        self.steps = tuple(steps)
        self.cause = cause
        failed = [f"{s.agent_id}: {s.error}" for s in self.steps if s.status == "failed"]
        detail = f"; failed calls: {'; '.join(failed[:5])}" if failed else ""
        super().__init__(f"{pattern} run {run_id} failed: {message}{detail}")
