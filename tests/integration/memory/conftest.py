from __future__ import annotations

from typing import Any

import pytest

from tests.integration.dataflow.conftest import redis_url  # noqa: F401  (fixture)
from tests.utils.integration_helpers import wait_for_condition
from tests.utils.lazy_import import lazy_import
from tests.utils.pytest_services import strict_services

httpx = lazy_import("httpx")  # on first use: collecting stays fast

EMBED_DEADLINE_S = 240.0


@pytest.fixture(scope="session")
def embed_model(ollama_service: Any, pytestconfig: pytest.Config) -> str:
    """The stack's embedding model, once the server lists it.

    Why a wait: a server other than the project's own (a real Ollama, already running or in
    Docker) may still be pulling or loading the model; the local server lists it at ready."""
    from tests.utils._services.health import model_listed

    model = ollama_service.settings.embed_model
    if not model:
        pytest.fail("KAIZEN_TEST_OLLAMA_EMBED_MODEL is empty: no embedding model configured")

    if ollama_service.backend == "local":  # the project's server: it needs optional deps
        from tests.utils.ollama_server.embeddings import missing_dependency

        missing = missing_dependency()
        if missing is not None:
            reason = f"embedding model {model} cannot be served here: {missing}"
            if strict_services(pytestconfig):
                pytest.fail(reason)
            pytest.skip(reason)

    def listed() -> bool:
        tags = httpx.get(f"{ollama_service.url}/api/tags", timeout=10).json()
        return model_listed(model, [m.get("name") for m in tags.get("models", [])])

    wait_for_condition(
        listed,
        timeout=EMBED_DEADLINE_S,
        interval=0.5,
        message=f"{model} listed by {ollama_service.url}/api/tags",
        ignore=(httpx.HTTPError,),
    )
    return model
