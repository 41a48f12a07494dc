"""Listing, model info, errors: the official `ollama` client against the real local server."""

from __future__ import annotations

import pytest

from tests.utils.lazy_import import lazy_import
from tests.utils.ollama_server import LLM_MODEL

httpx = lazy_import("httpx")  # on first use: collecting stays fast
ollama = lazy_import("ollama")  # on first use: collecting stays fast

TIMEOUT = 120.0


@pytest.fixture
def client(base_url: str) -> ollama.Client:
    return ollama.Client(host=base_url, timeout=TIMEOUT)


def test_root_and_version(base_url: str) -> None:
    root = httpx.get(base_url + "/", timeout=TIMEOUT)
    assert root.status_code == 200 and root.text == "Ollama is running"
    version = httpx.get(base_url + "/api/version", timeout=TIMEOUT).json()["version"]
    assert version.count(".") == 2


def test_list_shows_the_gemma_model(client: ollama.Client) -> None:
    models = {m.model: m for m in client.list().models}
    gemma = models[LLM_MODEL]
    assert gemma.details is not None and gemma.details.family == "gemma3"
    assert gemma.details.quantization_level == "Q4_K_M"
    assert gemma.size is not None and gemma.size > 200_000_000
    assert gemma.digest is not None and len(gemma.digest) == 64


def test_ps_and_show(client: ollama.Client) -> None:
    running = [m.model for m in client.ps().models]
    assert LLM_MODEL in running
    shown = client.show(LLM_MODEL)
    assert shown.capabilities == ["completion", "tools"]
    assert shown.details is not None and shown.details.format == "gguf"
    assert shown.modelinfo is not None and shown.modelinfo["gemma3.context_length"] > 0


@pytest.mark.parametrize(
    "call",
    [
        lambda c: c.generate(model="no-such-model:1b", prompt="hi"),
        lambda c: c.chat(model="no-such-model:1b", messages=[{"role": "user", "content": "hi"}]),
        lambda c: c.show("no-such-model:1b"),
        lambda c: c.embed(model="no-such-model:1b", input="hi"),
    ],
)
def test_unknown_model_is_ollamas_404(client: ollama.Client, call) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(ollama.ResponseError) as info:
        call(client)
    assert info.value.status_code == 404
    assert info.value.error == 'model "no-such-model:1b" not found, try pulling it first'


@pytest.mark.parametrize(
    ("path", "body", "fragment"),
    [
        ("/api/generate", b"{not json", "invalid JSON"),
        ("/api/generate", b"[]", "must be a JSON object"),
        ("/api/generate", b'{"prompt": "hi"}', "model is required"),
        ("/api/generate", b'{"model": "gemma3:270m", "prompt": 5}', "'prompt' must be a string"),
        (
            "/api/generate",
            b'{"model": "gemma3:270m", "prompt": "hi", "options": {"temperature": "hot"}}',
            "option 'temperature' must be a number",
        ),
        (
            "/api/generate",
            b'{"model": "gemma3:270m", "prompt": "hi", "format": {"pattern": "a"}}',
            "pattern",
        ),
        ("/api/chat", b'{"model": "gemma3:270m", "messages": "hi"}', "'messages' must be a list"),
        ("/api/embed", b'{"model": "all-minilm:l6-v2"}', "'input' is required"),
        ("/api/embed", b'{"model": "gemma3:270m", "input": "x"}', "does not support embeddings"),
    ],
)
def test_malformed_requests_get_clear_400s_and_server_stays_up(
    base_url: str, path: str, body: bytes, fragment: str
) -> None:
    response = httpx.post(base_url + path, content=body, timeout=TIMEOUT)
    assert response.status_code == 400, response.text
    assert fragment in response.json()["error"]
    after = httpx.post(
        base_url + "/api/generate",
        json={"model": LLM_MODEL, "prompt": "Hi", "stream": False, "options": {"num_predict": 1}},
        timeout=TIMEOUT,
    )
    assert after.status_code == 200 and after.json()["done"] is True


def test_unknown_route_and_wrong_method_answer_json(base_url: str) -> None:
    missing = httpx.get(base_url + "/api/nope", timeout=TIMEOUT)
    assert missing.status_code == 404 and "404 page not found" in missing.json()["error"]
    wrong = httpx.get(base_url + "/api/generate", timeout=TIMEOUT)
    assert wrong.status_code == 405 and "405 method not allowed" in wrong.json()["error"]


def test_empty_prompt_loads_like_ollama(client: ollama.Client) -> None:
    loaded = client.generate(model=LLM_MODEL, prompt="")
    assert loaded.done and loaded.done_reason == "load" and loaded.response == ""
