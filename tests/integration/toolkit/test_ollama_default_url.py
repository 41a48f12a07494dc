"""On the stack, an agent with no `base_url` reaches the stack's LLM server: the framework
default is a stock Ollama (11434), and the toolkit points `KAIZEN_OLLAMA_URL` at the stack
for the tests that use it. Structure only: the test model is a 270M base model."""

from __future__ import annotations

import os
from typing import Any

from kaizen import Kaizen
from kaizen.config import DEFAULT_OLLAMA_URL


def test_agent_without_base_url_reaches_the_stack(ollama_service: Any) -> None:
    assert os.environ["KAIZEN_OLLAMA_URL"] == ollama_service.url != DEFAULT_OLLAMA_URL
    agent = Kaizen().create_agent(
        "default-url",
        {
            "provider": "ollama",
            "model": ollama_service.settings.model,
            "temperature": 0.0,
            "seed": 7,
            "max_tokens": 32,
            "timeout": 120.0,
            "max_retries": 0,
        },
        signature="text -> summary",
    )
    result = agent.run(text="The sky is blue.")
    assert isinstance(result.outputs["summary"], str)
    assert result.usage.completion_tokens > 0
