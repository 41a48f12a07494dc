"""Embeddings from the real all-MiniLM-L6-v2, through /api/embed and /api/embeddings."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest

from tests.utils.lazy_import import lazy_import
from tests.utils.ollama_server import LLM_MODEL

ollama = lazy_import("ollama")  # on first use: collecting stays fast

TIMEOUT = 120.0


@pytest.fixture
def client(base_url: str) -> ollama.Client:
    return ollama.Client(host=base_url, timeout=TIMEOUT)


def _cosine(a: list[float], b: list[float]) -> float:
    dot = sum(x * y for x, y in zip(a, b, strict=True))
    return dot / (math.sqrt(sum(x * x for x in a)) * math.sqrt(sum(y * y for y in b)))


def test_listed_with_embedding_capability(client: ollama.Client, embed_model: str) -> None:
    assert embed_model in [m.model for m in client.list().models]
    assert client.show(embed_model).capabilities == ["embedding"]


def test_embed_dimension_and_normalisation(client: ollama.Client, embed_model: str) -> None:
    result = client.embed(model=embed_model, input=["first sentence", "second one"])
    assert len(result.embeddings) == 2
    assert all(len(v) == 384 for v in result.embeddings)
    assert all(abs(math.sqrt(sum(x * x for x in v)) - 1.0) < 1e-3 for v in result.embeddings)
    assert result.prompt_eval_count is not None and result.prompt_eval_count > 4


def test_related_sentences_are_closer_than_unrelated(
    client: ollama.Client, embed_model: str
) -> None:
    cat, kitten, stocks = client.embed(
        model=embed_model,
        input=[
            "A cat is sleeping on the sofa.",
            "A kitten naps on the couch.",
            "Interest rates moved the stock market today.",
        ],
    ).embeddings
    assert _cosine(cat, kitten) > _cosine(cat, stocks) + 0.2


def test_legacy_embeddings_endpoint(client: ollama.Client, embed_model: str) -> None:
    legacy = client.embeddings(model=embed_model, prompt="hello world").embedding
    modern = client.embed(model=embed_model, input="hello world").embeddings[0]
    assert len(legacy) == 384
    assert _cosine(list(legacy), list(modern)) > 0.999


def test_generate_on_the_embedding_model_is_refused(
    client: ollama.Client, embed_model: str
) -> None:
    with pytest.raises(ollama.ResponseError) as info:
        client.generate(model=embed_model, prompt="hi")
    assert info.value.status_code == 400
    assert "does not support generate" in info.value.error
    with pytest.raises(ollama.ResponseError, match="does not support embeddings"):
        client.embed(model=LLM_MODEL, input="hi")


def test_vectors_over_http_match_sentence_transformers_golden(
    client: ollama.Client, embed_model: str
) -> None:
    """The served vectors are the reference ones (golden file written by sentence-transformers)."""
    golden = Path(__file__).parents[2] / "unit" / "utils" / "data" / "minilm_golden.json"
    cases = json.loads(golden.read_text(encoding="utf-8"))["cases"]
    result = client.embed(model=embed_model, input=[c["text"] for c in cases])
    for case, got in zip(cases, result.embeddings, strict=True):
        worst = max(abs(a - b) for a, b in zip(got, case["embedding"], strict=True))
        assert worst < 1e-4, (case["text"][:40], worst)
    assert result.prompt_eval_count == sum(c["tokens"] for c in cases)


def test_long_input_is_truncated_to_256_tokens(client: ollama.Client, embed_model: str) -> None:
    result = client.embed(model=embed_model, input="word " * 1000)
    assert len(result.embeddings[0]) == 384
    assert result.prompt_eval_count == 256
