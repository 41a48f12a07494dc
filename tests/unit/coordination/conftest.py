"""An instant, in-test provider: each agent's `model` names a behaviour that turns the
request into a JSON answer (or an error), so patterns run in microseconds."""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from kaizen import Kaizen
from kaizen.errors import ProviderConnectionError
from kaizen.providers import Completion, CompletionRequest, register_provider, unregister_provider

Behaviour = Callable[[CompletionRequest], dict[str, Any]]


class InstantProvider:
    name = "instant"

    def __init__(self, owner: Instant, model: str, calls: list[str]) -> None:
        self._owner = owner
        self._behaviours = owner.behaviours
        self._model = model
        self._calls = calls

    def complete(self, request: CompletionRequest) -> Completion:
        self._calls.append(self._model)
        behaviour = self._behaviours[self._model]
        return Completion(json.dumps(behaviour(request)), request.model, 5, 3)

    async def acomplete(self, request: CompletionRequest) -> Completion:
        await asyncio.sleep(0)  # yield, so concurrency is real
        if self._owner.barrier is not None and self._model in self._owner.barrier_models:
            await self._owner.barrier.wait()  # deadlocks unless the calls overlap
        return self.complete(request)

    def stream(self, request: CompletionRequest) -> Iterator[str]:
        yield self.complete(request).text

    async def astream(self, request: CompletionRequest):  # type: ignore[no-untyped-def]
        yield (await self.acomplete(request)).text


class Instant:
    def __init__(self) -> None:
        self.name = f"k5-instant-{uuid.uuid4().hex[:8]}"
        self.behaviours: dict[str, Behaviour] = {}
        self.calls: list[str] = []
        self.barrier: asyncio.Barrier | None = None
        self.barrier_models: set[str] = set()
        register_provider(self.name, lambda cfg: InstantProvider(self, cfg.model, self.calls))

    def overlap(self, *agent_ids: str) -> None:
        """Make these agents' calls wait for each other: only concurrent calls finish."""
        self.barrier = asyncio.Barrier(len(agent_ids))
        self.barrier_models = {f"{a}-model" for a in agent_ids}

    def agent(self, k: Kaizen, agent_id: str, behaviour: Behaviour, signature: str, **cfg: Any):  # type: ignore[no-untyped-def]
        model = f"{agent_id}-model"
        self.behaviours[model] = behaviour
        return k.create_agent(
            agent_id,
            {"model": model, "provider": self.name, "max_retries": 0, **cfg},
            signature=signature,
        )


@pytest.fixture
def instant() -> Iterator[Instant]:
    inst = Instant()
    yield inst
    unregister_provider(inst.name)


def fails(message: str = "server gone") -> Behaviour:
    def behaviour(request: CompletionRequest) -> dict[str, Any]:
        raise ProviderConnectionError(message, provider="instant")

    return behaviour


def answers(**outputs: Any) -> Behaviour:
    return lambda request: dict(outputs)
