"""The toolkit sets KAIZEN_OLLAMA_URL to the stack's Ollama for exactly the tests that use
it (fixture, marker or suite attribute), and leaves every other test's environment alone.
Driven through pytester with a stand-in `ollama_service`, so no server is needed here."""

from __future__ import annotations

from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[3]
STACK_URL = "http://127.0.0.1:47999"

CONFTEST = f"""
import types
import pytest

pytest_plugins = ["tests.utils.pytest_ollama_env"]

@pytest.fixture(scope="session")
def ollama_service():
    return types.SimpleNamespace(url={STACK_URL!r})

def pytest_configure(config):
    config.addinivalue_line("markers", "requires_services(*names): needs these services")
"""

SUITE = f"""
import os
import pytest

def test_fixture(ollama_service):
    assert os.environ["KAIZEN_OLLAMA_URL"] == {STACK_URL!r}

@pytest.fixture
def built_on_it(ollama_service):
    return ollama_service

def test_dependent_fixture(built_on_it):
    assert os.environ["KAIZEN_OLLAMA_URL"] == {STACK_URL!r}

@pytest.mark.requires_services("postgresql", "ollama")
def test_marker():
    assert os.environ["KAIZEN_OLLAMA_URL"] == {STACK_URL!r}

class TestSuite:
    required_services = ["ollama"]

    def test_suite_attribute(self):
        assert os.environ["KAIZEN_OLLAMA_URL"] == {STACK_URL!r}

@pytest.mark.requires_services("postgresql")
def test_other_service_untouched():
    assert os.environ.get("KAIZEN_OLLAMA_URL") == "http://user-choice:1"

def test_no_service_untouched():
    assert os.environ.get("KAIZEN_OLLAMA_URL") == "http://user-choice:1"
"""


def test_url_set_only_for_tests_on_the_stack_ollama(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PYTHONPATH", str(REPO))
    monkeypatch.setenv("KAIZEN_OLLAMA_URL", "http://user-choice:1")
    pytester.makeconftest(CONFTEST)
    pytester.makepyfile(test_env=SUITE)
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider", "-q")
    result.assert_outcomes(passed=6)
