"""Shared fixtures for the core unit tests."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from kaizen.workflow import node as node_module
from kaizen.workflow import registered_node_types


@pytest.fixture
def node_registry() -> Iterator[None]:
    """Restore the global node-type registry after a test registers its own node types."""
    registered_node_types()  # make sure the built-ins are in the snapshot
    snapshot = dict(node_module._REGISTRY)
    yield
    node_module._REGISTRY.clear()
    node_module._REGISTRY.update(snapshot)
