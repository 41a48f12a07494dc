"""Request fields are honoured as Ollama honours them, or refused with a 400 naming them:
nothing is accepted and ignored (`dimensions`, `truncate`, `keep_alive`, `num_ctx`,
`logprobs`, `context`)."""

from __future__ import annotations

import math

import pytest

from tests.utils.integration_helpers import wait_for_condition
from tests.utils.lazy_import import lazy_import
from tests.utils.ollama_server import LLM_MODEL

httpx = lazy_import("httpx")  # on first use: collecting stays fast

TIMEOUT = 120.0
ONE_TOKEN = {"num_predict": 1, "temperature": 0}
LONG = "words " * 400  # well over all-MiniLM's 256 tokens


def _post(base_url: str, path: str, body: dict[str, object]) -> httpx.Response:
    return httpx.post(base_url + path, json={"stream": False, **body}, timeout=TIMEOUT)


def _running(base_url: str) -> list[str]:
    return [m["name"] for m in httpx.get(base_url + "/api/ps", timeout=TIMEOUT).json()["models"]]


def test_dimensions_truncate_and_renormalise(base_url: str, embed_model: str) -> None:
    full = _post(base_url, "/api/embed", {"model": embed_model, "input": "hello"}).json()
    short = _post(base_url, "/api/embed", {"model": embed_model, "input": "hello", "dimensions": 8})
    assert short.status_code == 200, short.text
    vector = short.json()["embeddings"][0]
    head = full["embeddings"][0][:8]
    norm = math.sqrt(sum(v * v for v in head))
    assert vector == pytest.approx([v / norm for v in head], abs=1e-6)
    assert math.sqrt(sum(v * v for v in vector)) == pytest.approx(1.0, abs=1e-6)
    wide = _post(base_url, "/api/embed", {"model": embed_model, "input": "hi", "dimensions": 999})
    assert len(wide.json()["embeddings"][0]) == len(full["embeddings"][0])


def test_truncate_false_refuses_an_over_long_input(base_url: str, embed_model: str) -> None:
    refused = _post(
        base_url, "/api/embed", {"model": embed_model, "input": ["ok", LONG], "truncate": False}
    )
    assert refused.status_code == 400
    assert refused.json()["error"] == "the input length exceeds the context length"
    fits = _post(base_url, "/api/embed", {"model": embed_model, "input": "ok", "truncate": False})
    assert fits.status_code == 200, fits.text
    truncated = _post(base_url, "/api/embed", {"model": embed_model, "input": LONG})
    assert truncated.status_code == 200, truncated.text


def test_num_ctx_other_than_the_servers_context_is_a_400(base_url: str) -> None:
    shown = httpx.post(base_url + "/api/show", json={"model": LLM_MODEL}, timeout=TIMEOUT).json()
    context = shown["model_info"]["gemma3.context_length"]
    same = {"model": LLM_MODEL, "prompt": "Hi", "options": {**ONE_TOKEN, "num_ctx": context}}
    assert _post(base_url, "/api/generate", same).status_code == 200
    other = {**same, "options": {**ONE_TOKEN, "num_ctx": context // 2}}
    refused = _post(base_url, "/api/generate", other)
    assert refused.status_code == 400
    assert "num_ctx" in refused.json()["error"] and "--ctx" in refused.json()["error"]


@pytest.mark.parametrize(
    ("path", "extra", "fragment"),
    [
        ("/api/generate", {"logprobs": True}, "'logprobs'"),
        ("/api/chat", {"logprobs": True, "top_logprobs": 3}, "'logprobs'"),
        ("/api/generate", {"context": [1, 2, 3]}, "'context'"),
    ],
)
def test_unimplemented_fields_are_400s_naming_them(
    base_url: str, path: str, extra: dict[str, object], fragment: str
) -> None:
    body = {"model": LLM_MODEL, "prompt": "Hi", "messages": [{"role": "user", "content": "Hi"}]}
    response = _post(base_url, path, {**body, **extra, "options": ONE_TOKEN})
    assert response.status_code == 400
    assert fragment in response.json()["error"]


def test_keep_alive_zero_unloads_until_next_use(base_url: str, embed_model: str) -> None:
    assert LLM_MODEL in _running(base_url)
    unloaded = _post(base_url, "/api/generate", {"model": LLM_MODEL, "keep_alive": 0})
    assert unloaded.json()["done_reason"] == "unload"
    assert LLM_MODEL not in _running(base_url)
    used = _post(
        base_url, "/api/generate", {"model": LLM_MODEL, "prompt": "Hi", "options": ONE_TOKEN}
    )
    assert used.status_code == 200
    assert LLM_MODEL in _running(base_url)

    embed = {"model": embed_model, "input": "hi"}
    assert _post(base_url, "/api/embed", {**embed, "keep_alive": "0s"}).status_code == 200
    assert embed_model not in _running(base_url)
    assert _post(base_url, "/api/embed", embed).status_code == 200
    assert embed_model in _running(base_url)


def test_a_short_keep_alive_expires_from_ps(base_url: str) -> None:
    chat = {"model": LLM_MODEL, "messages": [], "keep_alive": "300ms"}  # empty: just (re)load
    assert _post(base_url, "/api/chat", chat).json()["done_reason"] == "load"
    listed = httpx.get(base_url + "/api/ps", timeout=TIMEOUT).json()["models"]
    assert [m["name"] for m in listed].count(LLM_MODEL) == 1
    wait_for_condition(
        lambda: LLM_MODEL not in _running(base_url),
        timeout=10.0,
        message="keep_alive 300ms: still listed in /api/ps",
    )
    assert _post(base_url, "/api/chat", {**chat, "keep_alive": -1}).status_code == 200
    assert LLM_MODEL in _running(base_url)
