"""Shared fixtures for the core unit tests."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from kaizen.providers import register_provider, unregister_provider
from kaizen.workflow import node as node_module
from tests.unit.core._scripted import ScriptedProvider


@pytest.fixture
def node_registry() -> Iterator[None]:
    """Restore the global node-type registry after a test registers its own node types."""
    # Built-ins not in the snapshot are dropped on restore and re-resolve from the table.
    snapshot = dict(node_module._REGISTRY)
    yield
    node_module._REGISTRY.clear()
    node_module._REGISTRY.update(snapshot)


@pytest.fixture
def scripted(request: pytest.FixtureRequest) -> Iterator[ScriptedProvider]:
    """A ScriptedProvider registered under a name unique to the test; unregistered after.

    Every agent using `provider: <scripted.name>` gets this same instance.
    """
    name = f"scripted-{request.node.name}"
    provider = ScriptedProvider(name)

    def factory(config: Any) -> ScriptedProvider:
        provider.instances_made += 1
        return provider

    register_provider(name, factory)
    yield provider
    unregister_provider(name)
