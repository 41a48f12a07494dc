"""OllamaEmbedder's configuration: the model (argument or environment), and that the
server address and timeout it is given are the ones its requests use.

Why: a wrong model fails loudly only at the first request, and a base_url or timeout that
were silently replaced by the defaults would send embeddings to another server or wait a
minute for an answer; both are checked with real requests (a closed port, the stack's
server)."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from typing import Any

import pytest

from kaizen.errors import ConfigurationError, ProviderConnectionError, ProviderTimeoutError
from kaizen.memory import OllamaEmbedder
from kaizen.memory.semantic import EMBED_MODEL_ENV


@pytest.fixture
def closed_port() -> Iterator[int]:
    """A loopback port held by this test but not listening: connecting is refused."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        yield sock.getsockname()[1]


def test_model_from_argument_or_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(EMBED_MODEL_ENV, "env-model")
    assert OllamaEmbedder().model == "env-model"
    assert OllamaEmbedder("given-model").model == "given-model"


def test_a_model_is_required(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(EMBED_MODEL_ENV, raising=False)
    for make in (OllamaEmbedder, lambda: OllamaEmbedder("")):
        with pytest.raises(ConfigurationError) as info:
            make()
        assert info.value.key == "model"
        assert EMBED_MODEL_ENV in str(info.value)


def test_requests_go_to_the_given_base_url(closed_port: int) -> None:
    url = f"http://127.0.0.1:{closed_port}"
    embedder = OllamaEmbedder("some-model", base_url=url, timeout=5)
    with pytest.raises(ProviderConnectionError) as info:
        embedder.embed(["hello"])
    assert info.value.url == url


@pytest.mark.requires_services("ollama")
def test_requests_use_the_given_timeout(ollama_service: Any, embed_model: str) -> None:
    """No embedding is computed within 0.1 ms (the default would wait a minute)."""
    embedder = OllamaEmbedder(embed_model, base_url=ollama_service.url, timeout=0.0001)
    with pytest.raises(ProviderTimeoutError, match=r"no answer within 0\.0001s"):
        embedder.embed(["When do I have to pay the invoice?"])
