"""Semantic memory: texts stored with embeddings from the Ollama API's embedding endpoint,
retrieved by cosine similarity, in process or in PostgreSQL (plain float8[]; the cosine is
computed in SQL, so no extension is needed)."""

from __future__ import annotations

import asyncio
import json
import math
import threading
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from kaizen.errors import ConfigurationError
from kaizen.memory._postgres import PostgresTableMixin
from kaizen.memory.errors import EmbeddingDimensionError, MemoryStoreError

EMBED_MODEL_ENV = "KAIZEN_OLLAMA_EMBED_MODEL"


class Embedder(Protocol):
    def embed(self, texts: list[str]) -> list[list[float]]: ...


class OllamaEmbedder:
    """Embeddings from /api/embed of an Ollama-API server (the configured embedding model)."""

    def __init__(
        self, model: str | None = None, *, base_url: str | None = None, timeout: float = 60.0
    ) -> None:
        import os

        model = model or os.environ.get(EMBED_MODEL_ENV)
        if not model:
            raise ConfigurationError(
                "model", f"an embedding model is required: pass model= or set {EMBED_MODEL_ENV}"
            )
        from kaizen.providers.ollama import OllamaProvider

        self.model = model
        self._provider = OllamaProvider(base_url, timeout)

    def embed(self, texts: list[str]) -> list[list[float]]:
        return self._provider.embed(list(texts), self.model)

    async def aembed(self, texts: list[str]) -> list[list[float]]:
        return await self._provider.aembed(list(texts), self.model)


@dataclass(frozen=True, slots=True)
class MemoryMatch:
    id: str
    text: str
    score: float
    metadata: Mapping[str, Any] = field(default_factory=dict)


def _vector(values: Sequence[float], where: str) -> list[float]:
    vector = [float(v) for v in values]
    if not vector or not all(math.isfinite(v) for v in vector):
        raise MemoryStoreError(f"{where}: embedding is empty or not finite")
    if math.sqrt(sum(v * v for v in vector)) == 0.0:
        raise MemoryStoreError(f"{where}: embedding is all zeros; cosine is undefined")
    return vector


def cosine(a: Sequence[float], b: Sequence[float]) -> float:
    dot = sum(x * y for x, y in zip(a, b, strict=True))
    return dot / (math.sqrt(sum(x * x for x in a)) * math.sqrt(sum(y * y for y in b)))


class InMemoryVectorStore:
    def __init__(self) -> None:
        self._rows: dict[str, tuple[str, list[float], dict[str, Any]]] = {}
        self._dim: int | None = None
        self._lock = threading.Lock()

    def add(self, item_id: str, text: str, vector: list[float], metadata: Mapping[str, Any]):
        with self._lock:
            if self._dim is not None and len(vector) != self._dim:
                raise EmbeddingDimensionError(self._dim, len(vector), "in-memory vector store")
            self._dim = len(vector)
            self._rows[item_id] = (text, vector, dict(metadata))

    def search(self, vector: list[float], k: int) -> list[MemoryMatch]:
        with self._lock:
            if self._dim is not None and len(vector) != self._dim:
                raise EmbeddingDimensionError(self._dim, len(vector), "in-memory vector store")
            scored = [
                MemoryMatch(i, text, cosine(vector, v), meta)
                for i, (text, v, meta) in self._rows.items()
            ]
        return sorted(scored, key=lambda m: m.score, reverse=True)[:k]

    def count(self) -> int:
        return len(self._rows)


class PostgresVectorStore(PostgresTableMixin):
    """Rows (id, text, metadata, embedding float8[], norm); cosine ranking in one query."""

    _label = "postgresql semantic memory"

    def __init__(self, dsn: str, *, table: str = "kaizen_semantic_memory") -> None:
        self._open_table(dsn, table)

    def _schema(self, table: str) -> list[str]:
        return [
            f"CREATE TABLE IF NOT EXISTS {table} (id text PRIMARY KEY, text text NOT NULL, "
            "metadata text NOT NULL, embedding float8[] NOT NULL, dim int NOT NULL, "
            "norm float8 NOT NULL)"
        ]

    def _dim(self) -> int | None:
        (result,) = self._run([(f"SELECT dim FROM {self.table} LIMIT 1", None)], "read")
        return result.scalar()

    def add(self, item_id: str, text: str, vector: list[float], metadata: Mapping[str, Any]):
        dim = self._dim()
        if dim is not None and dim != len(vector):
            raise EmbeddingDimensionError(dim, len(vector), f"table {self.table}")
        norm = math.sqrt(sum(v * v for v in vector))
        self._run(
            [
                (
                    f"INSERT INTO {self.table} (id, text, metadata, embedding, dim, norm) "
                    "VALUES (%s, %s, %s, %s, %s, %s)",
                    [
                        item_id,
                        text,
                        json.dumps(dict(metadata), default=str),
                        vector,
                        len(vector),
                        norm,
                    ],
                )
            ],
            "store an embedding",
        )

    def search(self, vector: list[float], k: int) -> list[MemoryMatch]:
        dim = self._dim()
        if dim is not None and dim != len(vector):
            raise EmbeddingDimensionError(dim, len(vector), f"table {self.table}")
        norm = math.sqrt(sum(v * v for v in vector))
        (result,) = self._run(
            [
                (
                    f"SELECT id, text, metadata, (SELECT sum(a * b) FROM unnest(embedding, "
                    f"%(q)s::float8[]) AS pair(a, b)) / (norm * %(n)s) AS score FROM {self.table} "
                    "ORDER BY score DESC, id LIMIT %(k)s",
                    {"q": vector, "n": norm, "k": k},
                )
            ],
            "search",
        )
        return [
            MemoryMatch(r["id"], r["text"], float(r["score"]), json.loads(r["metadata"]))
            for r in result.rows
        ]

    def count(self) -> int:
        (result,) = self._run([(f"SELECT count(*) FROM {self.table}", None)], "count")
        return int(result.scalar())

    def drop(self) -> None:
        super().drop()
        self.close()


class VectorStore(Protocol):
    def add(
        self, item_id: str, text: str, vector: list[float], metadata: Mapping[str, Any]
    ) -> None: ...

    def search(self, vector: list[float], k: int) -> list[MemoryMatch]: ...

    def count(self) -> int: ...


class SemanticMemory:
    """`remember(text)` embeds and stores; `search(query, k)` ranks by cosine similarity."""

    def __init__(self, embedder: Embedder, store: VectorStore | None = None) -> None:
        self.embedder = embedder
        self.store: VectorStore = store if store is not None else InMemoryVectorStore()

    def _embed(self, texts: list[str]) -> list[list[float]]:
        vectors = self.embedder.embed(texts)
        if len(vectors) != len(texts):
            raise MemoryStoreError(f"embedder returned {len(vectors)} vectors for {len(texts)}")
        return [_vector(v, "embedder") for v in vectors]

    def remember(self, text: str, metadata: Mapping[str, Any] | None = None) -> str:
        return self.remember_many([text], [metadata or {}])[0]

    def remember_many(
        self, texts: Sequence[str], metadata: Sequence[Mapping[str, Any]] | None = None
    ) -> list[str]:
        texts = list(texts)
        if not texts or not all(isinstance(t, str) and t.strip() for t in texts):
            raise ConfigurationError("texts", "must be a non-empty list of non-empty strings")
        metas = list(metadata) if metadata is not None else [{}] * len(texts)
        if len(metas) != len(texts):  # checked before anything is embedded or stored
            raise ConfigurationError(
                "metadata", f"needs one mapping per text: {len(metas)} for {len(texts)} texts"
            )
        ids = []
        for text, vector, meta in zip(texts, self._embed(texts), metas, strict=True):
            item_id = uuid.uuid4().hex
            self.store.add(item_id, text, vector, meta)
            ids.append(item_id)
        return ids

    def search(self, query: str, k: int = 5, min_score: float | None = None) -> list[MemoryMatch]:
        if isinstance(k, bool) or not isinstance(k, int) or k <= 0:
            raise ConfigurationError("k", f"must be a positive integer, got {k!r}")
        (vector,) = self._embed([query])
        matches = self.store.search(vector, k)
        return matches if min_score is None else [m for m in matches if m.score >= min_score]

    async def aremember(self, text: str, metadata: Mapping[str, Any] | None = None) -> str:
        return await asyncio.to_thread(self.remember, text, metadata)

    async def asearch(self, query: str, k: int = 5) -> list[MemoryMatch]:
        return await asyncio.to_thread(self.search, query, k)
