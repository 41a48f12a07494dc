"""`_tiers.layout`: the tier comes from the directory; the toolkit is never collected."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.unit.utils.tiers._project import write
from tests.utils._tiers.layout import tier_of


def test_markers_come_from_the_directory(project: pytest.Pytester) -> None:
    for tier in ("unit", "integration", "e2e"):
        write(
            project,
            f"tests/{tier}/test_{tier}_marker.py",
            f"""
            def test_marked(request):
                assert request.node.get_closest_marker({tier!r}) is not None
            """,
        )
    result = project.runpytest_inprocess("-m", "unit or integration or e2e")
    result.assert_outcomes(passed=3)


def test_test_outside_the_tiers_is_rejected(project: pytest.Pytester) -> None:
    write(project, "tests/misc/test_stray.py", "def test_x(): pass\n")
    result = project.runpytest_inprocess()
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*outside tests/unit, tests/integration and tests/e2e*"])


def test_toolkit_dir_is_never_collected(project: pytest.Pytester) -> None:
    write(
        project,
        "tests/utils/test_fixtures.py",
        """
        class TestDataThing:
            def __init__(self):
                pass

        def test_looks_like_a_test():
            raise AssertionError("must never run")
        """,
    )
    result = project.runpytest_inprocess("tests")
    assert result.ret == pytest.ExitCode.NO_TESTS_COLLECTED
    result.stdout.no_fnmatch_line("*PytestCollectionWarning*")


def test_tier_of() -> None:
    root = Path("/r/tests")
    assert tier_of(Path("/r/tests/unit/a/test_x.py"), root) == "unit"
    assert tier_of(Path("/r/tests/e2e/test_x.py"), root) == "e2e"
    assert tier_of(Path("/r/tests/integration/x/y/test_x.py"), root) == "integration"
    assert tier_of(Path("/r/tests/utils/test_fixtures.py"), root) is None
    assert tier_of(Path("/r/tests/test_top.py"), root) is None
    assert tier_of(Path("/elsewhere/test_x.py"), root) is None


def test_the_old_plugin_module_still_exports_the_parts() -> None:
    import tests.utils.pytest_tiers as tiers
    from tests.utils._tiers import PLUGINS

    assert tiers.tier_of is tier_of
    assert tiers.pytest_plugins == [f"tests.utils._tiers.{name}" for name in PLUGINS]
    for name in tiers.__all__:
        assert getattr(tiers, name) is not None
    with pytest.raises(AttributeError, match="no_such_name"):
        tiers.no_such_name  # noqa: B018
