"""Where a test lives decides its tier: `tests/unit` -> `unit`, `tests/integration` ->
`integration`, `tests/e2e` -> `e2e`. A test file outside the three is a usage error, and
`tests/utils/` (the toolkit, whose `test_fixtures.py` is not a test) is never collected."""

from __future__ import annotations

from pathlib import Path

import pytest

TIERS = ("unit", "integration", "e2e")
#: Tiers that run against real services only.
REAL_TIERS = frozenset({"integration", "e2e"})
TESTS_ROOT = Path(__file__).resolve().parents[2]


def tests_root(config: pytest.Config | None) -> Path:
    return (config.rootpath / "tests") if config is not None else TESTS_ROOT


def tier_of(path: Path, root: Path = TESTS_ROOT) -> str | None:
    """The tier a file belongs to, from its first directory under the tests root."""
    try:
        relative = Path(path).resolve().relative_to(root.resolve())
    except ValueError:
        return None
    first = relative.parts[0] if len(relative.parts) > 1 else None
    return first if first in TIERS else None


def item_tier(item: pytest.Item) -> str | None:
    """The tier marker this plugin gave the item (None before collection finished)."""
    for tier in TIERS:
        if item.get_closest_marker(tier) is not None:
            return tier
    return None


def pytest_ignore_collect(collection_path: Path, config: pytest.Config) -> bool | None:
    toolkit = tests_root(config) / "utils"
    if collection_path == toolkit or toolkit in collection_path.parents:
        return True
    return None


@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    root = tests_root(config)
    for item in items:
        tier = tier_of(item.path, root)
        if tier is None:
            raise pytest.UsageError(
                f"{item.nodeid}: test is outside tests/unit, tests/integration and tests/e2e; "
                "move it into the tier whose rules it follows"
            )
        item.add_marker(getattr(pytest.mark, tier))
