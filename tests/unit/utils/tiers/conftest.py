"""Fixtures for the tests of each part of the tier plugin (tests/utils/_tiers/: one test
module per part), which drive inner pytest runs (pytester)."""

from __future__ import annotations

import pytest

from tests.unit.utils.tiers._project import ROOT, ini


@pytest.fixture
def project(pytester: pytest.Pytester) -> pytest.Pytester:
    pytester.makefile(".ini", pytest=ini())
    for tier in ("unit", "integration", "e2e"):
        (pytester.path / "tests" / tier).mkdir(parents=True)
    return pytester


@pytest.fixture
def subprocess_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """Subprocess runs: in process, the outer run's own filters would leak into the inner
    run and prove nothing about the project's configuration."""
    monkeypatch.setenv("PYTHONPATH", str(ROOT))
