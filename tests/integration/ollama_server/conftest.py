"""A real local Ollama-API server process for this directory's tests.

These tests are about the server itself, so they start their own instance on a free
loopback port (never the stack's 11435, which may be a real Ollama) and stop it by PID.
Readiness is the server's own "ready" line (printed only once the model is warm), polled
with a deadline. When the server cannot run here the tests skip with the reason, and fail
under CI=true or --require-services.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import Any

import pytest

import tests.utils.ollama_server as local
from tests.utils.lazy_import import lazy_import
from tests.utils.ollama_server.process import RunningServer, start_server, stop_server

httpx = lazy_import("httpx")  # on first use: collecting stays fast


def _required(config: pytest.Config) -> bool:
    return os.environ.get("CI") == "true" or bool(config.getoption("--require-services", False))


@pytest.fixture(scope="session")
def ollama_server(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[RunningServer]:
    ok, reason = local.is_available()
    if not ok:
        if _required(request.config):
            pytest.fail(f"local Ollama-API server required but unavailable: {reason}")
        pytest.skip(f"local Ollama-API server unavailable: {reason}")
    server = start_server(tmp_path_factory.mktemp("ollama-server"))
    yield server
    stop_server(server)


@pytest.fixture(scope="session")
def base_url(ollama_server: RunningServer) -> str:
    return ollama_server.url


@pytest.fixture(scope="session")
def embed_model(request: pytest.FixtureRequest, ollama_server: RunningServer) -> str:
    """The embedding model's name; the server loads it before its ready line, so it must be
    listed on the first look (no polling: a late listing is the bug this would hide)."""
    from tests.utils.ollama_server.embeddings import missing_dependency

    missing = missing_dependency()
    if missing is not None:
        if _required(request.config):
            pytest.fail(f"embedding model required but unavailable: {missing}")
        pytest.skip(f"embedding model unavailable: {missing}")
    names = [m["name"] for m in httpx.get(f"{ollama_server.url}/api/tags").json()["models"]]
    if local.EMBED_MODEL not in names:
        pytest.fail(
            f"{local.EMBED_MODEL} not listed by a ready server (listed: {names}); server log:\n"
            f"{ollama_server.log_tail()}"
        )
    return local.EMBED_MODEL


@pytest.fixture(scope="session")
def v1_client(base_url: str) -> Any:
    """The official `openai` SDK on the server's OpenAI-compatible /v1 (no retries: a
    failure is the server's answer, not a second try's)."""
    import openai

    return openai.OpenAI(base_url=f"{base_url}/v1", api_key="ollama", timeout=300, max_retries=0)
