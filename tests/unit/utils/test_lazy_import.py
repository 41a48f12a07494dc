"""lazy_import defers the import to the first attribute access, in a fresh interpreter."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from tests.utils.lazy_import import lazy_import

REPO = Path(__file__).resolve().parents[3]


def _run(code: str) -> str:
    done = subprocess.run(
        [sys.executable, "-c", code],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    return done.stdout.strip()


def test_nothing_is_executed_until_an_attribute_is_used() -> None:
    out = _run(
        "import sys\n"
        "from tests.utils.lazy_import import lazy_import\n"
        "json = lazy_import('json')\n"
        "before = 'json.decoder' in sys.modules\n"
        "value = json.loads('[1]')\n"
        "print(before, 'json.decoder' in sys.modules, value)\n"
    )
    assert out == "False True [1]"


def test_private_lookups_such_as_pytests_fixture_scan_do_not_load() -> None:
    out = _run(
        "import sys\n"
        "from tests.utils.lazy_import import lazy_import\n"
        "json = lazy_import('json')\n"
        "probes = [getattr(json, n, None) for n in ('_pytestfixturefunction', '__wrapped__')]\n"
        "print(probes, 'json.decoder' in sys.modules)\n"
    )
    assert out == "[None, None] False"


def test_an_already_imported_module_is_returned_as_is() -> None:
    import json

    assert lazy_import("json") is json


def test_a_missing_module_fails_at_once_with_its_name() -> None:
    with pytest.raises(ModuleNotFoundError, match="no_such_module_kz"):
        lazy_import("no_such_module_kz")
