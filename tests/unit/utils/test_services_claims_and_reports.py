"""Claims are released only by their holder; the registry's errors carry what they name;
a health report reads as one line; a service whose driver is missing says what to install."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from tests.utils._services import catalog, health
from tests.utils._services.registry import (
    ProcessRecord,
    RefusedClaimError,
    Registry,
    StateDirGoneError,
    StateFileError,
    UnverifiedProcessError,
)
from tests.utils._services.settings import UnknownServiceError, load_settings, redis_url


def _claim(reg: Registry, member: str, index: int) -> None:
    assert reg.allocate("redis@h:1", range(index, index + 1), member, "run", lambda i, o: None)


def test_a_claim_is_released_only_by_the_member_that_holds_it(tmp_path: Path) -> None:
    reg = Registry(tmp_path)
    _claim(reg, "me", 3)
    _claim(reg, "me", 4)
    reg.release_claim("redis@h:1", 3, "someone-else")
    assert set(reg.read()["claims"]) == {"redis@h:1/3", "redis@h:1/4"}
    reg.release_claim("redis@h:2", 3, "me")  # another endpoint: not this claim
    reg.release_claim("redis@h:1", 5, "me")  # nothing there
    assert set(reg.read()["claims"]) == {"redis@h:1/3", "redis@h:1/4"}
    reg.release_claim("redis@h:1", 3, "me")
    assert set(Registry(tmp_path).read()["claims"]) == {"redis@h:1/4"}  # written to the file


def test_a_refused_claim_lists_every_reason_in_order(tmp_path: Path) -> None:
    reasons = {3: "holds 2 keys", 1: "claimed by run r"}
    with pytest.raises(RefusedClaimError) as info:
        Registry(tmp_path).allocate("redis@h:1", range(1, 4, 2), "me", "run", reasons.get)
    assert info.value.reasons == reasons
    assert str(info.value) == "no free index on redis@h:1: 1: claimed by run r; 3: holds 2 keys"


def test_registry_errors_carry_what_they_name(tmp_path: Path) -> None:
    corrupt = StateFileError(tmp_path / "stack.json", "not JSON")
    assert (corrupt.path, corrupt.problem) == (tmp_path / "stack.json", "not JSON")
    assert StateDirGoneError(tmp_path).path == tmp_path
    record = ProcessRecord("redis", "127.0.0.1:1", "local", 4242, "run", "r", "t", 1.0)
    unverified = UnverifiedProcessError(record, "no identity")
    assert unverified.record is record and "kill 4242" in str(unverified)
    assert UnknownServiceError("oracle").name == "oracle"


def test_redis_url_defaults_to_db_0() -> None:
    s = load_settings({})["redis"]
    assert redis_url(s) == f"redis://{s.host}:{s.port}/0"
    assert catalog.get("redis").url(s) == f"redis://{s.host}:{s.port}/0"


def test_health_report_reads_as_one_line() -> None:
    up = health.HealthReport("redis", True, "127.0.0.1:6380", backend="local")
    down = health.HealthReport("redis", False, "127.0.0.1:6380", reason="connection refused")
    assert str(up) == "redis at 127.0.0.1:6380 (local): healthy"
    assert str(down) == "redis at 127.0.0.1:6380 (?): unhealthy: connection refused"


@pytest.mark.parametrize(
    ("service", "module", "package"),
    [
        ("postgresql", "psycopg2", "psycopg2-binary"),
        ("mysql", "pymysql", "pymysql"),
        ("redis", "redis", "redis"),
        ("mongodb", "pymongo", "pymongo"),
        ("ollama", "httpx", "httpx"),
    ],
)
def test_a_missing_driver_is_unhealthy_naming_what_to_install(
    service: str, module: str, package: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(sys.modules, module, None)  # import now raises ImportError
    s = load_settings({})[service]
    with pytest.raises(health.Unhealthy) as info:
        catalog.get(service).check(s, health.Deadline(1.0))
    assert str(info.value) == (
        f"{health.DRIVER_MISSING}{module!r} is not installed (pip install {package}, or "
        "pip install -e '.[test]')"
    )
