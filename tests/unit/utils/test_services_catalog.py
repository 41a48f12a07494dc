"""One module per service (catalog/), the rungs as objects, and the one wait loop."""

from __future__ import annotations

import threading
import time

import pytest

from tests.utils._services import catalog, docker_backend, health, local, rungs
from tests.utils._services.polling import wait_for
from tests.utils._services.settings import (
    SERVICE_NAMES,
    ServiceSettings,
    UnknownServiceError,
    load_settings,
)


def test_every_builtin_service_is_one_module_declaring_all_its_parts() -> None:
    assert SERVICE_NAMES == catalog.BUILTIN
    settings = load_settings({})
    for svc in catalog.services():
        module = svc.check.__module__
        assert module == f"tests.utils._services.catalog.{svc.name}", svc.name
        for part in (svc.url, svc.container_spec, svc.start_local):
            assert part.__module__ == module, (svc.name, part)
        s = settings[svc.name]
        assert svc.env_prefix.startswith("KAIZEN_TEST_") and svc.env_prefix.endswith("_")
        assert s.image == settings.raw[svc.env_prefix + "IMAGE"]
        assert svc.fixture.endswith("_service")
        assert str(s.port) in svc.url(s)
        assert svc.container_spec(s).service == svc.name
        assert svc.start_timeout(settings) > 0


def test_an_unknown_service_is_a_typed_error() -> None:
    with pytest.raises(UnknownServiceError, match="unknown service 'oracle'"):
        catalog.get("oracle")


def test_the_old_entry_points_go_through_the_catalog(monkeypatch) -> None:
    """health.check, local.start and docker_backend.spec_for ask the service's module."""
    s = load_settings({})["redis"]
    calls: list[str] = []

    def fake_check(settings: ServiceSettings, deadline: health.Deadline) -> str:
        calls.append("check")
        return "Redis 9"

    monkeypatch.setattr(catalog.get("redis"), "check", fake_check)
    monkeypatch.setattr(health, "tcp_probe", lambda *a, **k: None)
    report = health.check(s)
    assert report.healthy and report.version == "Redis 9" and calls == ["check"]
    assert docker_backend.spec_for(s) == catalog.get("redis").container_spec(s)
    assert set(docker_backend.SPECS) == set(local.STARTERS) == set(SERVICE_NAMES)
    assert local.start_redis is catalog.get("redis").start_local  # the old names resolve


def test_the_ladder_is_three_rungs_in_order_and_records_name_theirs() -> None:
    assert [r.name for r in rungs.LADDER] == ["running", "docker", "local"]
    assert isinstance(rungs.BY_BACKEND["docker"], rungs.DockerRung)
    assert isinstance(rungs.BY_BACKEND["local"], rungs.LocalRung)
    unknown = rungs.for_record(None)
    assert type(unknown) is rungs.Rung and unknown.describe(None) == "-"  # type: ignore[arg-type]


def test_wait_for_returns_the_value_and_keeps_the_last_error() -> None:
    seen = iter([ValueError("not yet"), 0, 7])

    def attempt() -> int:
        value = next(seen)
        if isinstance(value, Exception):
            raise value
        return value

    waited = wait_for(attempt, 5.0, errors=(ValueError,))
    assert waited.ok and waited.value == 7 and waited.error is None

    def always_fails() -> int:
        raise ValueError("port 1 refused")

    failed = wait_for(always_fails, 0.05, errors=(ValueError,))
    assert not failed.ok and failed.last() == "port 1 refused"
    assert 0.05 <= failed.elapsed_s < 1.0


def test_wait_for_stops_as_soon_as_the_awaited_process_is_dead() -> None:
    started = time.monotonic()
    waited = wait_for(lambda: False, 30.0, alive=lambda: "server exited with code 1")
    assert not waited.ok and waited.dead == "server exited with code 1"
    assert time.monotonic() - started < 1.0


def test_wait_for_never_sleeps_past_the_deadline() -> None:
    wake = threading.Event()
    started = time.monotonic()
    waited = wait_for(wake.is_set, 0.2, first_pause_s=5.0, max_pause_s=5.0)
    assert not waited.ok and time.monotonic() - started < 1.0
