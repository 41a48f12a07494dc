"""pytest plugin: a test on the stack's Ollama gets `KAIZEN_OLLAMA_URL` pointing at it.

The framework's default is a stock Ollama install (`http://127.0.0.1:11434`); the stack
serves on its own locked-in port (`KAIZEN_TEST_OLLAMA_PORT`, 11435) so it never collides
with a real Ollama. A test that uses the stack's Ollama (the `ollama_service` fixture, or
anything built on it such as `ollama_client`, `@pytest.mark.requires_services("ollama")`,
or an integration suite with "ollama" in `required_services`) therefore has the variable
set to the stack's endpoint for its duration, so an agent without `base_url` reaches the
stack; every other test sees the environment untouched.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

URL_ENV = "KAIZEN_OLLAMA_URL"


def uses_stack_ollama(request: pytest.FixtureRequest) -> bool:
    """Whether this test asked for the stack's Ollama in any of the toolkit's three ways."""
    if "ollama_service" in request.fixturenames:
        return True
    node = request.node
    if any("ollama" in mark.args for mark in node.iter_markers("requires_services")):
        return True
    return "ollama" in tuple(getattr(request.cls, "required_services", None) or ())


@pytest.fixture(autouse=True)
def _stack_ollama_url(request: pytest.FixtureRequest) -> Iterator[None]:
    if not uses_stack_ollama(request):
        yield
        return
    status = request.getfixturevalue("ollama_service")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv(URL_ENV, status.url)
        yield
