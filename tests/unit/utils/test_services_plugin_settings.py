"""The services plugin reads settings only when a test needs services: a bad setting is
one usage error naming the key, and never touches a unit-only run (driven through pytester)."""

from __future__ import annotations

from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[3]
PLUGIN = ("-p", "tests.utils.pytest_services", "-p", "no:cacheprovider")

UNIT_ONLY = """
def test_plain():
    assert 1 + 1 == 2
"""
NEEDS_BY_MARKER = """
import pytest

@pytest.mark.requires_services("redis")
def test_needs_redis():
    pass
"""
NEEDS_BY_FIXTURE = """
def test_needs_postgres(postgres_service):
    pass
"""


@pytest.fixture
def bad_port(pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch) -> pytest.Pytester:
    monkeypatch.setenv("PYTHONPATH", str(REPO))
    monkeypatch.setenv("KAIZEN_TEST_POSTGRES_PORT", "abc")
    pytester.makeini(
        "[pytest]\nasyncio_default_fixture_loop_scope = function\n"
        "markers =\n    requires_services(*names): services\n"
    )
    return pytester


def test_a_unit_only_run_needs_no_service_settings(bad_port: pytest.Pytester) -> None:
    bad_port.makepyfile(test_unit=UNIT_ONLY)
    result = bad_port.runpytest(*PLUGIN)
    assert "INTERNALERROR" not in result.stdout.str() + result.stderr.str()
    result.assert_outcomes(passed=1)


@pytest.mark.parametrize("suite", [NEEDS_BY_MARKER, NEEDS_BY_FIXTURE], ids=["marker", "fixture"])
def test_a_bad_setting_is_one_usage_error_naming_the_key(
    bad_port: pytest.Pytester, suite: str
) -> None:
    bad_port.makepyfile(test_unit=UNIT_ONLY, test_services=suite)
    result = bad_port.runpytest(*PLUGIN)
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    output = result.stdout.str() + result.stderr.str()
    assert "INTERNALERROR" not in output and "Traceback" not in output
    result.stderr.fnmatch_lines(
        [
            "ERROR: service settings: KAIZEN_TEST_POSTGRES_PORT: must be a TCP port number, "
            "got 'abc'. Fix KAIZEN_TEST_POSTGRES_PORT in the environment or in *services.env*"
        ]
    )
