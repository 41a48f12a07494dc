"""The project's `filterwarnings`: a PytestCollectionWarning and an un-awaited coroutine
fail a run (subprocess runs, so the outer run's filters cannot leak in), and the controls
show that without the filters both would pass silently."""

from __future__ import annotations

import pytest

from tests.unit.utils.tiers._project import ini, write

COLLECTION_WARNING = """
class TestHasInit:
    def __init__(self):
        pass

    def test_silently_dropped(self):
        pass
"""

UNAWAITED = """
async def work():
    return 1

def test_sync_forgets_await():
    work()

async def test_async_forgets_await():
    work()
"""


def test_collection_warning_is_an_error(project: pytest.Pytester, subprocess_env: None) -> None:
    write(project, "tests/unit/test_collect_warn.py", COLLECTION_WARNING)
    result = project.runpytest_subprocess()
    assert result.ret == pytest.ExitCode.INTERRUPTED
    result.stdout.fnmatch_lines(["*PytestCollectionWarning: cannot collect test class*"])


def test_without_the_filter_the_class_would_be_dropped_silently(
    pytester: pytest.Pytester, subprocess_env: None
) -> None:
    pytester.makefile(".ini", pytest=ini(filterwarnings=[]))
    write(pytester, "tests/unit/test_collect_warn2.py", COLLECTION_WARNING)
    result = pytester.runpytest_subprocess()
    assert result.ret == pytest.ExitCode.NO_TESTS_COLLECTED  # the control: why the filter exists


def test_unawaited_coroutine_fails_the_test(project: pytest.Pytester, subprocess_env: None) -> None:
    write(project, "tests/unit/test_unawaited.py", UNAWAITED)
    result = project.runpytest_subprocess()
    result.assert_outcomes(failed=2)
    result.stdout.fnmatch_lines(["*coroutine 'work' was never awaited*"])


def test_without_the_filters_an_unawaited_coroutine_passes(
    pytester: pytest.Pytester, subprocess_env: None
) -> None:
    pytester.makefile(".ini", pytest=ini(filterwarnings=[]))
    write(pytester, "tests/unit/test_unawaited2.py", UNAWAITED)
    result = pytester.runpytest_subprocess()
    assert result.parseoutcomes()["passed"] == 2
    result.stdout.fnmatch_lines(["*coroutine 'work' was never awaited*"])
