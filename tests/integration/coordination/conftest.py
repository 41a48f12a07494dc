from collections.abc import Callable
from typing import Any

import pytest

from kaizen import Kaizen
from tests.integration.dataflow.real_endpoints import (  # noqa: F401  (fixtures)
    ollama_endpoint,
    pg_dsn,
    redis_url,
)


@pytest.fixture
def llm_agent(request: pytest.FixtureRequest) -> Callable[..., Any]:
    """Agents on the real LLM: tiny budgets, generous timeouts (the machine is slow)."""
    endpoint: dict[str, str] = request.getfixturevalue("ollama_endpoint")

    def make(k: Kaizen, agent_id: str, signature: str, **cfg: Any) -> Any:
        config = {
            "model": endpoint["model"],
            "provider": "ollama",
            "base_url": endpoint["base_url"],
            "temperature": 0.0,
            "seed": 7,
            "max_tokens": 48,
            "timeout": 120,
            "max_retries": 2,
            **cfg,
        }
        return k.create_agent(agent_id, config, signature=signature)

    return make
