"""`_tiers.timeouts`: per-tier default timeouts through pytest-timeout, markers override,
the scale multiplies (0 disables), pytest-timeout's own default wins when given, a timeout
names where its limit came from, and an inner in-process session keeps the outer timer."""

from __future__ import annotations

import signal

import pytest

from tests.unit.utils.tiers._project import write
from tests.utils._tiers.timeouts import DEFAULT_TIMEOUTS, TierTimeout

HANGS = """
import asyncio
import threading
import pytest

@pytest.mark.timeout(0.5)
def test_blocks():
    threading.Event().wait(60)

@pytest.mark.timeout(0.5)
async def test_async_blocks():
    await asyncio.Event().wait()
"""


def test_marker_timeout_fails_a_hung_test(project: pytest.Pytester) -> None:
    write(project, "tests/unit/test_hang.py", HANGS)
    result = project.runpytest_inprocess()
    result.assert_outcomes(failed=2)
    result.stdout.fnmatch_lines(["*Timeout (>0.5s) from pytest-timeout*"])
    result.stdout.fnmatch_lines(
        ["*test_blocks exceeded its 0.5s timeout (@pytest.mark.timeout 0.5s x scale 1)*"]
    )
    result.stdout.fnmatch_lines(["*test_async_blocks exceeded its 0.5s timeout*"])


def test_tier_default_applies_and_scale_works(project: pytest.Pytester) -> None:
    write(
        project,
        "tests/unit/test_default.py",
        "import threading\n\ndef test_waits():\n    threading.Event().wait(30)\n",
    )
    result = project.runpytest_inprocess("--tier-timeout-scale=0.005")  # 60 s * 0.005
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(
        ["*exceeded its 0.3s timeout (unit tier default 60s x scale 0.005)*"]
    )


def test_scale_comes_from_the_environment_too(
    project: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    write(
        project,
        "tests/integration/test_env_scale.py",
        "import threading\n\ndef test_waits():\n    threading.Event().wait(30)\n",
    )
    monkeypatch.setenv("KAIZEN_TEST_TIMEOUT_SCALE", "0.0005")  # 600 s * 0.0005
    result = project.runpytest_inprocess()
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(["*exceeded its 0.3s timeout (integration tier default*"])


def test_scale_multiplies_markers(project: pytest.Pytester) -> None:
    write(
        project,
        "tests/unit/test_scaled_marker.py",
        """
        import threading
        import pytest

        @pytest.mark.timeout(timeout=60)
        def test_waits():
            threading.Event().wait(30)
        """,
    )
    result = project.runpytest_inprocess("--tier-timeout-scale=0.005")
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(["*Timeout (>0.3s) from pytest-timeout*"])


def test_scale_zero_disables_timeouts(project: pytest.Pytester) -> None:
    write(
        project,
        "tests/unit/test_off.py",
        """
        import threading
        import pytest

        @pytest.mark.timeout(0.05)
        def test_short_wait():
            threading.Event().wait(0.3)
        """,
    )
    project.runpytest_inprocess("--tier-timeout-scale=0").assert_outcomes(passed=1)


def test_negative_scale_is_a_usage_error(project: pytest.Pytester) -> None:
    write(project, "tests/unit/test_q.py", "def test_q(): pass\n")
    result = project.runpytest_inprocess("--tier-timeout-scale=-1")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*--tier-timeout-scale must be >= 0*"])


def test_pytest_timeouts_own_default_replaces_the_tier_default(project: pytest.Pytester) -> None:
    write(
        project,
        "tests/unit/test_cli_default.py",
        """
        import pytest

        def test_sees_the_cli_timeout(request):
            assert request.node.get_closest_marker("timeout") is None
        """,
    )
    project.runpytest_inprocess("--timeout=30").assert_outcomes(passed=1)


def test_every_test_carries_its_tier_default(project: pytest.Pytester) -> None:
    for tier in ("unit", "integration", "e2e"):
        write(
            project,
            f"tests/{tier}/test_{tier}_timeout.py",
            f"""
            def test_marker(request):
                marker = request.node.get_closest_marker("timeout")
                assert marker.args == ({DEFAULT_TIMEOUTS[tier]},)
            """,
        )
    project.runpytest_inprocess().assert_outcomes(passed=3)


def test_bad_timeout_marker_is_a_usage_error(project: pytest.Pytester) -> None:
    write(
        project,
        "tests/unit/test_badmark.py",
        "import pytest\n\n@pytest.mark.timeout('soon')\ndef test_x(): pass\n",
    )
    result = project.runpytest_inprocess()
    result.stderr.fnmatch_lines(["*timeout needs a number of seconds*'soon'*"])


def test_outer_timer_survives_an_inner_run(project: pytest.Pytester) -> None:
    write(project, "tests/unit/test_quick.py", "def test_q(): pass\n")
    before = signal.getitimer(signal.ITIMER_REAL)[0]
    handler = signal.getsignal(signal.SIGALRM)
    assert before > 0  # this test runs under its own unit-tier timer
    project.runpytest_inprocess().assert_outcomes(passed=1)
    after = signal.getitimer(signal.ITIMER_REAL)[0]
    assert 0 < after <= before
    assert signal.getsignal(signal.SIGALRM) is handler


def test_without_pytest_timeout_the_plugin_says_what_to_install(
    project: pytest.Pytester,
) -> None:
    write(project, "tests/unit/test_q.py", "def test_q(): pass\n")
    result = project.runpytest_inprocess("-p", "no:timeout")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*need pytest-timeout*pip install -e*"])


def test_tier_timeout_seconds() -> None:
    assert TierTimeout(60.0, "unit tier default", 0.5).seconds == 30.0
