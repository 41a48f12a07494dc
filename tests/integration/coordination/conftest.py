from collections.abc import Callable
from typing import Any

import pytest

from kaizen import Kaizen


@pytest.fixture
def llm_agent(ollama_service: Any) -> Callable[..., Any]:
    """Agents on the stack's real LLM: tiny budgets, generous timeouts (the machine is slow)."""

    def make(k: Kaizen, agent_id: str, signature: str, tools: Any = None, **cfg: Any) -> Any:
        config = {
            "model": ollama_service.settings.model,
            "provider": "ollama",
            "base_url": ollama_service.url,
            "temperature": 0.0,
            "seed": 7,
            "max_tokens": 48,
            "timeout": 120,
            "max_retries": 2,
            **cfg,
        }
        return k.create_agent(agent_id, config, signature=signature, tools=tools)

    return make
