"""Kaizen's testing toolkit. Names are re-exported lazily so that importing one helper
does not import (or start) the others."""

from __future__ import annotations

import importlib
from typing import Any

#: Fakes from tests.utils.mock_providers, exported for the unit tier.
UNIT_TIER_FAKES = (
    "MockLLMProvider",
    "MockMemoryProvider",
    "MockDatabaseProvider",
    "MockSignatureCompiler",
    "MockAuditLogger",
)

_EXPORTS: dict[str, str] = {
    # the root of every exception class the toolkit defines
    "ToolkitError": "errors",
    # real-service stack
    "ensure_docker_services": "docker_config",
    "DockerServicesManager": "docker_config",
    "get_postgres_connection_string": "docker_config",
    "get_redis_url": "docker_config",
    "get_mysql_connection_string": "docker_config",
    "get_mongodb_connection_string": "docker_config",
    "get_ollama_base_url": "docker_config",
    # integration helpers
    "IntegrationTestSuite": "integration_helpers",
    "MultiAgentCoordinationTestSuite": "integration_helpers",
    "WorkflowExecutionResult": "integration_helpers",
    "wait_for_condition": "integration_helpers",
    "validate_workflow_execution": "integration_helpers",
    "ErrorSimulator": "integration_helpers",
    # performance
    "PerformanceTracker": "performance_tracker",
    "BenchmarkSuite": "performance_tracker",
    "KaizenFrameworkBenchmark": "performance_tracker",
    # fixtures and data
    "KaizenTestDataManager": "test_fixtures",
    "enterprise_test_config": "test_fixtures",
    "minimal_test_config": "test_fixtures",
    "integration_test_config": "test_fixtures",
    # unit tier only: the tier plugin refuses these imports in integration and e2e modules
    **dict.fromkeys(UNIT_TIER_FAKES, "mock_providers"),
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'tests.utils' has no attribute {name!r}")
    value = getattr(importlib.import_module(f"{__name__}.{module}"), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return __all__
