"""Shared fixtures for the core unit tests."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from kaizen.workflow import node as node_module
from tests.utils.mock_providers import MockLLMProvider


@pytest.fixture
def node_registry() -> Iterator[None]:
    """Restore the global node-type registry after a test registers its own node types."""
    # Built-ins not in the snapshot are dropped on restore and re-resolve from the table.
    snapshot = dict(node_module._REGISTRY)
    yield
    node_module._REGISTRY.clear()
    node_module._REGISTRY.update(snapshot)


@pytest.fixture
def scripted(request: pytest.FixtureRequest) -> Iterator[MockLLMProvider]:
    """The unit tier's fake LLM, registered under a name unique to the test, answering
    `scripted.script = [...]` in order with fixed usage (3 prompt, 2 completion tokens) and
    model "m-served". Every agent using `provider: <scripted.name>` gets this instance."""
    provider = MockLLMProvider(
        name=f"scripted-{request.node.name}", script=[], model="m-served", usage=(3, 2)
    )
    with provider.registered():
        yield provider
