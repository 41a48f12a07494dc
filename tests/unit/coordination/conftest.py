"""Agents on the unit tier's one fake LLM (`MockLLMProvider`, function mode): each agent has
its own provider whose function turns the prompt into a JSON answer (or raises), so
patterns run in microseconds. `overlap()` makes chosen agents' async calls wait for each
other at a barrier: they only finish when they really run concurrently."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from kaizen import Kaizen
from kaizen.errors import ProviderConnectionError
from kaizen.providers import register_provider, unregister_provider
from tests.utils.mock_providers import MockLLMProvider

#: (messages, signature) -> outputs, the mock's function mode; `messages[-1]["content"]` is
#: the prompt.
Behaviour = Callable[[list[dict[str, Any]], Any], dict[str, Any]]


class Instant:
    def __init__(self) -> None:
        self.name = f"k5-instant-{uuid.uuid4().hex[:8]}"
        self.providers: dict[str, MockLLMProvider] = {}
        self.barrier: asyncio.Barrier | None = None
        self.barrier_agents: set[str] = set()

    def overlap(self, *agent_ids: str) -> None:
        """Make these agents' async calls wait for each other: only concurrent calls finish."""
        self.barrier = asyncio.Barrier(len(agent_ids))
        self.barrier_agents = set(agent_ids)

    def _fn(self, agent_id: str, behaviour: Behaviour) -> Any:
        def answer(messages: list[dict[str, Any]], signature: Any) -> Any:
            if agent_id not in self.barrier_agents:
                return behaviour(messages, signature)

            async def at_the_barrier() -> dict[str, Any]:
                assert self.barrier is not None
                await self.barrier.wait()  # deadlocks unless the calls overlap
                return behaviour(messages, signature)

            return at_the_barrier()

        return answer

    def agent(self, k: Kaizen, agent_id: str, behaviour: Behaviour, signature: str, **cfg: Any):  # type: ignore[no-untyped-def]
        provider = MockLLMProvider(name=f"{self.name}-{agent_id}", fn=self._fn(agent_id, behaviour))
        self.providers[agent_id] = provider
        register_provider(provider.name, provider.factory)
        return k.create_agent(
            agent_id,
            {"model": f"{agent_id}-model", "provider": provider.name, "max_retries": 0, **cfg},
            signature=signature,
        )

    def close(self) -> None:
        for provider in self.providers.values():
            unregister_provider(provider.name)


@pytest.fixture
def instant() -> Iterator[Instant]:
    inst = Instant()
    yield inst
    inst.close()


def prompt(messages: list[dict[str, Any]]) -> str:
    return str(messages[-1]["content"])


def fails(message: str = "server gone") -> Behaviour:
    def behaviour(messages: list[dict[str, Any]], signature: Any) -> dict[str, Any]:
        raise ProviderConnectionError(message, provider="instant")

    return behaviour


def answers(**outputs: Any) -> Behaviour:
    return lambda messages, signature: dict(outputs)


# -- added for the mutation-killing tests (new helpers only; the ones above are unchanged) --


def hangs() -> Behaviour:
    """An async answer that never comes: only a pattern's `timeout` ends the call."""

    def behaviour(messages: list[dict[str, Any]], signature: Any) -> Any:
        async def forever() -> dict[str, Any]:
            await asyncio.Event().wait()
            raise AssertionError("unreachable")  # pragma: no cover

        return forever()

    return behaviour


def takes(seconds: float, behaviour: Behaviour) -> Behaviour:
    """`behaviour`, after blocking for `seconds` (a lower bound for measured durations; this
    is not a wait for readiness)."""

    def slow(messages: list[dict[str, Any]], signature: Any) -> Any:
        time.sleep(seconds)
        return behaviour(messages, signature)

    return slow


class Gauge:
    """Counts how many calls are in flight at once: each call yields to the event loop
    several times while counted, so calls that are allowed to overlap do."""

    def __init__(self) -> None:
        self.current = 0
        self.peak = 0

    def counting(self, **outputs: Any) -> Behaviour:
        def behaviour(messages: list[dict[str, Any]], signature: Any) -> Any:
            async def counted() -> dict[str, Any]:
                self.current += 1
                self.peak = max(self.peak, self.current)
                for _ in range(20):
                    await asyncio.sleep(0)
                self.current -= 1
                return dict(outputs)

            return counted()

        return behaviour
