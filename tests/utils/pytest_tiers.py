"""Tier markers applied from the directory a test lives in, relative to the tests root.

`tests/unit/...` gets `unit`, `tests/integration/...` gets `integration`, `tests/e2e/...`
gets `e2e`. A test file outside the three tiers is a collection error: a test must say
which rules it lives under.
"""

from __future__ import annotations

from pathlib import Path

import pytest

TIERS = ("unit", "integration", "e2e")
TESTS_ROOT = Path(__file__).resolve().parent.parent


def tier_of(path: Path) -> str | None:
    """The tier a file belongs to, from its first directory under the tests root."""
    try:
        relative = Path(path).resolve().relative_to(TESTS_ROOT)
    except ValueError:
        return None
    first = relative.parts[0] if len(relative.parts) > 1 else None
    return first if first in TIERS else None


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    for item in items:
        tier = tier_of(item.path)
        if tier is None:
            raise pytest.UsageError(
                f"{item.nodeid}: test is outside tests/unit, tests/integration and tests/e2e; "
                "move it into the tier whose rules it follows"
            )
        item.add_marker(getattr(pytest.mark, tier))
