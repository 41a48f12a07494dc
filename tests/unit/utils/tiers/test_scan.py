"""`_tiers.scan`: integration/e2e modules with mocks or fake providers fail collection,
with the line and the reason; the same code is fine in unit tests."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.unit.utils.tiers._project import write
from tests.utils._tiers.scan import scan_source

FORBIDDEN = {
    "import_unittest_mock": "import unittest.mock\n",
    "from_unittest_import_mock": "from unittest import mock\n",
    "from_unittest_mock": "from unittest.mock import MagicMock\n",
    "attribute": "import unittest\nPATCH = unittest.mock.patch\n",
    "backport": "import mock\n",
    "mock_providers_from": "from tests.utils.mock_providers import MockLLMProvider\n",
    "mock_providers_module": "from tests.utils import mock_providers\n",
    "mock_providers_import": "import tests.utils.mock_providers as mp\n",
    "reexported_fake": "from tests.utils import MockLLMProvider\n",
    "import_module": (
        "import importlib\nM = importlib.import_module('tests.utils.mock_providers')\n"
    ),
    "mocker_fixture": "def test_uses_mocker(mocker):\n    pass\n",
    "fake_provider": (
        "from kaizen.providers import register_provider\n"
        "register_provider('fake', lambda config: None)\n"
    ),
}
REASONS = {
    "import_unittest_mock": "imports unittest.mock",
    "from_unittest_import_mock": "imports mock from unittest",
    "from_unittest_mock": "imports unittest.mock",
    "attribute": "uses unittest.mock",
    "backport": "imports mock (the `mock` package",
    "mock_providers_from": "imports tests.utils.mock_providers",
    "mock_providers_module": "imports mock_providers from tests.utils",
    "mock_providers_import": "imports tests.utils.mock_providers",
    "reexported_fake": "imports MockLLMProvider from tests.utils (tests.utils.mock_providers",
    "import_module": "imports tests.utils.mock_providers",
    "mocker_fixture": "requests the `mocker` fixture",
    "fake_provider": "not marked @real_provider",
}


@pytest.mark.parametrize("tier", ["integration", "e2e"])
@pytest.mark.parametrize("case", sorted(FORBIDDEN))
def test_mocks_in_real_tiers_fail_at_collection(
    project: pytest.Pytester, tier: str, case: str
) -> None:
    write(project, f"tests/{tier}/test_{case}.py", FORBIDDEN[case] + "\ndef test_ok(): pass\n")
    result = project.runpytest_inprocess()
    assert result.ret == pytest.ExitCode.INTERRUPTED
    result.stdout.fnmatch_lines(
        [
            f"*{tier} tests run against real services only*",
            f"*test_{case}.py:*{REASONS[case]}*",
        ]
    )
    result.assert_outcomes(errors=1)


def test_the_same_imports_are_fine_in_unit_tests(project: pytest.Pytester) -> None:
    write(
        project,
        "tests/unit/test_mocks_ok.py",
        """
        from unittest import mock
        from tests.utils.mock_providers import MockLLMProvider
        from tests.utils import MockLLMProvider as Exported

        def test_ok():
            assert mock.MagicMock() and MockLLMProvider()
            assert Exported is MockLLMProvider
        """,
    )
    project.runpytest_inprocess().assert_outcomes(passed=1)


def test_conftest_in_a_real_tier_is_checked(project: pytest.Pytester) -> None:
    write(project, "tests/integration/conftest.py", "from unittest import mock\n")
    write(project, "tests/integration/sub/test_clean.py", "def test_ok(): pass\n")
    result = project.runpytest_inprocess()
    assert result.ret == pytest.ExitCode.INTERRUPTED
    result.stdout.fnmatch_lines(["*integration/conftest.py:1: imports mock from unittest*"])


def test_local_helper_modules_are_followed(project: pytest.Pytester) -> None:
    write(project, "tests/e2e/helpers_zz.py", "from unittest.mock import patch\n")
    write(
        project,
        "tests/e2e/test_uses_helper.py",
        "from tests.e2e.helpers_zz import patch\n\ndef test_ok(): pass\n",
    )
    result = project.runpytest_inprocess()
    result.stdout.fnmatch_lines(["*helpers_zz.py:1: imports unittest.mock*"])
    result.assert_outcomes(errors=1)


def test_scan_source_reports_lines() -> None:
    findings, local = scan_source(
        "import os\nfrom unittest import mock\nfrom tests.integration.h import x\n",
        Path("/r/tests/integration/test_a.py"),
        Path("/r/tests"),
    )
    assert [(f.line, f.what.split(" (")[0]) for f in findings] == [
        (2, "imports mock from unittest")
    ]
    assert local == {"tests.integration.h"}
