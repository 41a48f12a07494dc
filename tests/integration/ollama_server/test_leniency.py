"""Where real Ollama is lenient the local server is too: unknown options, `developer`
messages, and model names resolved the way Ollama resolves them."""

from __future__ import annotations

import pytest

from tests.utils.lazy_import import lazy_import
from tests.utils.ollama_server import EMBED_MODEL, LLM_MODEL

httpx = lazy_import("httpx")  # on first use: collecting stays fast

TIMEOUT = 120.0
ONE_TOKEN = {"num_predict": 1, "temperature": 0}


def _post(base_url: str, path: str, body: dict[str, object]) -> httpx.Response:
    return httpx.post(base_url + path, json={"stream": False, **body}, timeout=TIMEOUT)


def test_unknown_option_is_ignored(base_url: str) -> None:
    response = _post(
        base_url,
        "/api/generate",
        {"model": LLM_MODEL, "prompt": "Hi", "options": {**ONE_TOKEN, "no_such_option": 3}},
    )
    assert response.status_code == 200, response.text
    assert response.json()["done"] is True


def test_developer_message_is_accepted(base_url: str) -> None:
    messages = [
        {"role": "developer", "content": "Answer in one word."},
        {"role": "user", "content": "Hi"},
    ]
    response = _post(
        base_url, "/api/chat", {"model": LLM_MODEL, "messages": messages, "options": ONE_TOKEN}
    )
    assert response.status_code == 200, response.text
    assert response.json()["message"]["role"] == "assistant"


@pytest.mark.parametrize(
    "name", ["registry.ollama.ai/library/gemma3:270m", "library/gemma3:270m", "GEMMA3:270m"]
)
def test_full_and_case_folded_names_find_the_model(base_url: str, name: str) -> None:
    response = _post(
        base_url, "/api/generate", {"model": name, "prompt": "Hi", "options": ONE_TOKEN}
    )
    assert response.status_code == 200, response.text
    assert response.json()["model"] == name  # Ollama echoes the name it was asked for


def test_a_name_without_tag_means_latest(base_url: str) -> None:
    """`gemma3` is `gemma3:latest` (a different, 4B model on Ollama's registry): 404."""
    response = _post(base_url, "/api/generate", {"model": "gemma3", "prompt": "Hi"})
    assert response.status_code == 404
    assert response.json()["error"] == 'model "gemma3" not found, try pulling it first'


def test_embedding_model_is_listed_under_latest_as_a_pull_would_store_it(
    base_url: str, embed_model: str
) -> None:
    tags = {m["name"]: m for m in httpx.get(base_url + "/api/tags").json()["models"]}
    assert tags["all-minilm:latest"]["digest"] == tags[EMBED_MODEL]["digest"]
    running = [m["name"] for m in httpx.get(base_url + "/api/ps").json()["models"]]
    assert running.count(EMBED_MODEL) == 1 and "all-minilm:latest" not in running
    vectors = []
    for name in ("all-minilm", "all-minilm:latest", embed_model):
        response = _post(base_url, "/api/embed", {"model": name, "input": "hello"})
        assert response.status_code == 200, (name, response.text)
        vectors.append(response.json()["embeddings"][0])
    assert vectors[0] == vectors[1] == vectors[2]
