"""Agent memory: conversation memory (in process, Redis, PostgreSQL) with one interface and
the same limits, a shared pool for teams, and semantic memory over embeddings."""

from kaizen.memory.conversation import ConversationMemory, InMemoryConversationMemory, Turn
from kaizen.memory.errors import EmbeddingDimensionError, MemoryStoreError
from kaizen.memory.postgres_memory import PostgresConversationMemory
from kaizen.memory.redis_memory import RedisConversationMemory
from kaizen.memory.semantic import (
    Embedder,
    InMemoryVectorStore,
    MemoryMatch,
    OllamaEmbedder,
    PostgresVectorStore,
    SemanticMemory,
    cosine,
)
from kaizen.memory.shared import SharedMemoryPool

__all__ = [
    "ConversationMemory",
    "Embedder",
    "EmbeddingDimensionError",
    "InMemoryConversationMemory",
    "InMemoryVectorStore",
    "MemoryMatch",
    "MemoryStoreError",
    "OllamaEmbedder",
    "PostgresConversationMemory",
    "PostgresVectorStore",
    "RedisConversationMemory",
    "SemanticMemory",
    "SharedMemoryPool",
    "Turn",
    "cosine",
]
