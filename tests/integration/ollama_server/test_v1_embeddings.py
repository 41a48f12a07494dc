"""POST /v1/embeddings through the official `openai` SDK (which asks for base64 unless told
float) against the native /api/embed vectors."""

from __future__ import annotations

import math
from typing import Any

import pytest

from tests.utils.lazy_import import lazy_import

openai = lazy_import("openai")  # on first use: collecting stays fast
httpx = lazy_import("httpx")

TEXTS = ["The agent stored a fact.", "Databases keep rows."]


def test_a_list_matches_the_native_vectors_in_float_and_base64(
    v1_client: Any, base_url: str, embed_model: str
) -> None:
    native = httpx.post(f"{base_url}/api/embed", json={"model": embed_model, "input": TEXTS})
    expected = native.json()["embeddings"]
    for encoding in ("float", "base64"):  # the SDK decodes base64 itself
        kwargs = {} if encoding == "base64" else {"encoding_format": "float"}
        result = v1_client.embeddings.create(model=embed_model, input=TEXTS, **kwargs)
        assert result.object == "list" and result.model == embed_model
        assert [d.index for d in result.data] == [0, 1]
        assert {d.object for d in result.data} == {"embedding"}
        for got, want in zip(result.data, expected, strict=True):
            assert len(got.embedding) == 384
            assert max(abs(a - b) for a, b in zip(got.embedding, want, strict=True)) < 1e-6
        assert result.usage.prompt_tokens == result.usage.total_tokens > 4


def test_a_string_input_and_dimensions(v1_client: Any, embed_model: str) -> None:
    result = v1_client.embeddings.create(
        model=embed_model, input=TEXTS[0], dimensions=64, encoding_format="float"
    )
    (item,) = result.data
    assert len(item.embedding) == 64
    assert abs(math.sqrt(sum(x * x for x in item.embedding)) - 1.0) < 1e-4  # renormalised


def test_wire_base64_is_little_endian_float32(base_url: str, embed_model: str) -> None:
    import base64
    import struct

    body = {"model": embed_model, "input": "hi", "encoding_format": "base64"}
    answer = httpx.post(f"{base_url}/v1/embeddings", json=body).json()
    raw = base64.b64decode(answer["data"][0]["embedding"])
    assert len(raw) == 384 * 4
    values = struct.unpack("<384f", raw)
    assert abs(math.sqrt(sum(v * v for v in values)) - 1.0) < 1e-3


@pytest.mark.parametrize(
    ("extra", "match"),
    [
        ({"input": []}, "invalid input"),
        ({"input": "x", "encoding_format": "hex"}, "encoding_format"),
        ({"input": [1, 2, 3]}, "'input' must be"),
    ],
)
def test_bad_requests_are_400s(
    v1_client: Any, embed_model: str, extra: dict[str, Any], match: str
) -> None:
    with pytest.raises(openai.BadRequestError, match=match):
        v1_client.embeddings.create(model=embed_model, **extra)


def test_the_llm_does_not_embed(v1_client: Any, embed_model: str) -> None:
    from tests.utils.ollama_server import LLM_MODEL

    with pytest.raises(openai.BadRequestError, match="does not support embeddings"):
        v1_client.embeddings.create(model=LLM_MODEL, input="x", encoding_format="float")
