"""/v1 errors: OpenAI error objects with the status the SDK maps to its exception types,
on a keep-alive connection that stays usable after each one."""

from __future__ import annotations

from typing import Any

import pytest

from tests.utils.lazy_import import lazy_import
from tests.utils.ollama_server import LLM_MODEL

openai = lazy_import("openai")  # on first use: collecting stays fast
httpx = lazy_import("httpx")

HI = [{"role": "user", "content": "Hi"}]


def _is_openai_error(body: Any, kind: str) -> None:
    assert set(body) == {"error"}
    assert set(body["error"]) == {"message", "type", "param", "code"}
    assert body["error"]["type"] == kind and body["error"]["message"]


def test_an_unknown_model_is_not_found(v1_client: Any) -> None:
    with pytest.raises(openai.NotFoundError) as info:
        v1_client.chat.completions.create(model="no-such:7b", messages=HI, max_tokens=2)
    assert "no-such:7b" in info.value.message
    with pytest.raises(openai.NotFoundError):
        v1_client.completions.create(model="no-such:7b", prompt="x", max_tokens=2)
    with pytest.raises(openai.NotFoundError):
        v1_client.embeddings.create(model="no-such:7b", input="x")


@pytest.mark.parametrize(
    ("extra", "match"),
    [
        ({"messages": []}, "too short"),
        ({"messages": [{"role": "wizard", "content": "x"}]}, "role"),
        ({"messages": HI, "max_tokens": "many"}, "max_tokens"),
        ({"messages": HI, "response_format": {"type": "yaml"}}, "response_format"),
        ({"messages": HI, "logprobs": True}, "logprobs"),
    ],
)
def test_a_bad_body_is_a_bad_request(v1_client: Any, extra: dict[str, Any], match: str) -> None:
    with pytest.raises(openai.BadRequestError, match=match):
        v1_client.chat.completions.create(model=LLM_MODEL, **extra)


def test_raw_errors_are_openai_objects_and_the_connection_survives(base_url: str) -> None:
    with httpx.Client(base_url=base_url, timeout=120) as client:
        cases = [
            ("POST", "/v1/chat/completions", b"{not json", 400, "invalid_request_error"),
            ("POST", "/v1/chat/completions", b"[]", 400, "invalid_request_error"),
            ("POST", "/v1/chat/completions", b"", 400, "invalid_request_error"),
            ("GET", "/v1/chat/completions", b"", 405, "api_error"),
            ("POST", "/v1/models/x", b"{}", 405, "api_error"),
            ("GET", "/v1/responses", b"", 404, "not_found_error"),
        ]
        for method, path, body, status, kind in cases:
            response = client.request(method, path, content=body)
            assert response.status_code == status, (path, response.text)
            assert response.headers["content-type"].startswith("application/json")
            _is_openai_error(response.json(), kind)
        ok = client.post(
            "/v1/chat/completions", json={"model": LLM_MODEL, "messages": HI, "max_tokens": 2}
        )
        assert ok.status_code == 200 and ok.json()["object"] == "chat.completion"
        native = client.post("/api/chat", json={"model": "no-such:7b", "messages": HI})
        assert native.status_code == 404 and isinstance(native.json()["error"], str)  # Ollama's


def test_the_embedding_model_does_not_chat(v1_client: Any, embed_model: str) -> None:
    with pytest.raises(openai.BadRequestError, match="does not support chat"):
        v1_client.chat.completions.create(model=embed_model, messages=HI, max_tokens=2)
