"""The toolkit's old module names still export every public name after the split into
one-concept parts, and the fixtures' names come from the stack's one `NAME_PREFIX`."""

from __future__ import annotations

import importlib

import pytest

from tests.utils._services.settings import NAME_PREFIX

FACADES = (
    "tests.utils.integration_helpers",
    "tests.utils.test_fixtures",
    "tests.utils.mock_providers",
    "tests.utils.pytest_tiers",
)


@pytest.mark.parametrize("facade", FACADES)
def test_every_exported_name_resolves(facade: str) -> None:
    module = importlib.import_module(facade)
    missing = [name for name in module.__all__ if getattr(module, name, None) is None]
    assert missing == []


def test_the_lazy_toolkit_exports_still_work() -> None:
    import tests.utils as toolkit

    for name in toolkit.__all__:
        assert getattr(toolkit, name) is not None


def test_fixture_names_use_the_one_prefix() -> None:
    from tests.utils.test_fixtures import (
        USERS_TABLE,
        KaizenTestDataManager,
        isolated_collection,
        isolated_redis_prefix,
    )

    assert KaizenTestDataManager.PREFIX is NAME_PREFIX
    assert KaizenTestDataManager().unique_name("x").startswith(NAME_PREFIX)
    assert USERS_TABLE.isolated().name.startswith(NAME_PREFIX)
    assert isolated_collection().startswith(NAME_PREFIX)
    assert isolated_redis_prefix("t").startswith(NAME_PREFIX.rstrip("_") + ":t:")
