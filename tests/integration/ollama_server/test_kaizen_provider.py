"""Kaizen's own `ollama` provider and a signature agent against the real local server."""

from __future__ import annotations

import asyncio

from kaizen import InputField, Kaizen, OutputField, Signature
from kaizen.providers import CompletionRequest
from tests.utils.lazy_import import lazy_import
from tests.utils.ollama_server import LLM_MODEL

# Loaded on first use: it pulls in the ollama client, httpx and pydantic (~0.25 s).
ollama_provider = lazy_import("kaizen.providers.ollama")


class QA(Signature):
    """Answer the question from the context."""

    question: str = InputField(desc="the question")
    context: str = InputField(desc="background")
    answer: str = OutputField(desc="short answer")
    confidence: float = OutputField(desc="0..1")


def test_signature_agent_gets_structured_outputs(base_url: str) -> None:
    kaizen = Kaizen()
    agent = kaizen.create_agent(
        "qa-local-llm",
        {
            "model": LLM_MODEL,
            "provider": "ollama",
            "temperature": 0.0,
            "seed": 7,
            "max_tokens": 32,
            "timeout": 120,
            "base_url": base_url,
        },
        signature=QA,
    )
    for question in ("What is the capital of France?", "Which colour is the sky?"):
        result = agent.run(question=question, context="General knowledge.")
        assert isinstance(result.outputs["answer"], str)
        assert isinstance(result.outputs["confidence"], float)
        assert result.usage.total_tokens > 0


def test_provider_complete_stream_and_async(base_url: str) -> None:
    provider = ollama_provider.OllamaProvider(base_url=base_url, timeout=120)
    request = CompletionRequest(
        model=LLM_MODEL, prompt="The moon is", temperature=0.0, max_tokens=8, seed=1
    )
    completion = provider.complete(request)
    assert completion.completion_tokens == 8 and completion.done_reason == "length"
    streamed = "".join(provider.stream(request))
    assert streamed == completion.text

    async def both() -> list[str]:
        first = await provider.acomplete(request)
        chunks = [c async for c in provider.astream(request)]
        return [first.text, "".join(chunks)]

    assert asyncio.run(both()) == [completion.text, completion.text]
