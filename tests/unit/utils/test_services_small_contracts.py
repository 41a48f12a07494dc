"""Small contracts of the service toolkit that the stack tests pass through without looking:
the deadline's arithmetic, a report's identity and redaction, the settings digest, the
registry's clocks, the wait's last-error text and the scan's package modules."""

from __future__ import annotations

import dataclasses
import re
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from tests.utils._services import catalog, health
from tests.utils._services.health import Deadline, Unhealthy, first_line
from tests.utils._services.polling import wait_for
from tests.utils._services.ports import free_port
from tests.utils._services.registry import monotonic_ms, now_iso
from tests.utils._services.settings import load_settings, settings_hash


def test_deadline_left_counts_down_and_refuses_at_zero(monkeypatch) -> None:
    d = Deadline(0.5)
    left = d.left("step")
    assert 0 < left <= 0.5
    clock = d.end  # exactly at the end: nothing is left
    monkeypatch.setattr(health.time, "monotonic", lambda: clock)
    with pytest.raises(Unhealthy, match=r"^step: no answer within the 0\.5s health-check"):
        d.left("step")


def test_first_line_of_an_exception_without_text_is_its_type() -> None:
    assert first_line(ValueError()) == "ValueError"
    assert first_line(ValueError("  one\ntwo ")) == "one"


def test_a_report_names_its_service_and_is_false_not_none_when_unhealthy() -> None:
    s = load_settings({"KAIZEN_TEST_REDIS_PORT": str(free_port())})["redis"]
    report = health.check(s)
    assert report.service == "redis" and report.endpoint == s.endpoint
    assert report.healthy is False and report.reason == "connection refused"
    assert report.latency_ms > 0


def test_an_expired_deadline_is_named_at_the_tcp_step() -> None:
    s = load_settings({"KAIZEN_TEST_REDIS_PORT": str(free_port())})["redis"]
    report = health.check(s, deadline_s=0)
    assert report.reason == "TCP connect: no answer within the 0.0s health-check deadline"


def test_an_unexpected_error_is_named_by_type_with_the_password_hidden(monkeypatch) -> None:
    import socket

    s = load_settings()["postgresql"]
    assert s.password
    service = catalog.get("postgresql")

    def broken(settings, deadline):
        raise RuntimeError(f"boom for {settings.password} at {settings.host}")

    monkeypatch.setattr(service, "check", broken)
    with socket.socket() as listener:  # something accepts TCP, so the service check runs
        listener.bind(("127.0.0.1", 0))
        listener.listen(1)
        report = health.check(dataclasses.replace(s, port=listener.getsockname()[1]))
    assert report.reason == f"unexpected RuntimeError: boom for *** at {s.host}"


def test_the_settings_digest_ignores_the_image_and_nothing_else() -> None:
    s = load_settings()["redis"]
    digest = settings_hash(s)
    assert re.fullmatch(r"[0-9a-f]{16}", digest)
    assert settings_hash(dataclasses.replace(s, image="other/image:1")) == digest
    assert settings_hash(dataclasses.replace(s, port=s.port + 1)) != digest
    assert settings_hash(dataclasses.replace(s, user="someone")) != digest


def test_the_settings_digest_is_the_sorted_json_of_the_fields() -> None:
    """Stable across processes and field order: records written by another run compare."""
    import hashlib
    import json

    s = load_settings()["mysql"]
    data = {f.name: getattr(s, f.name) for f in dataclasses.fields(s) if f.name != "image"}
    expected = hashlib.sha256(json.dumps(data, sort_keys=True).encode()).hexdigest()[:16]
    assert settings_hash(s) == expected


def test_registry_clocks() -> None:
    stamp = datetime.fromisoformat(now_iso())
    assert stamp.tzinfo is not None and stamp.utcoffset() == timedelta(0)
    assert abs(stamp - datetime.now(UTC)) < timedelta(seconds=5)
    assert stamp.microsecond == 0  # seconds precision, as the status table shows it
    start = time.perf_counter() - 0.25
    elapsed = monotonic_ms(start)
    assert 250 <= elapsed < 5000
    assert elapsed == round(elapsed, 1)


def test_a_wait_keeps_a_textless_error_by_its_type() -> None:
    def textless() -> int:
        raise KeyError()

    def wordy() -> int:
        raise ValueError("x" * 300)

    assert wait_for(textless, 0.05, errors=(KeyError,)).last() == "KeyError"
    assert wait_for(wordy, 0.05, errors=(ValueError,)).last() == "x" * 200


def test_the_scan_reads_a_package_by_its_init(tmp_path: Path) -> None:
    from tests.utils._tiers.scan import _module_path

    root = tmp_path / "tests"
    (root / "pkg").mkdir(parents=True)
    (root / "pkg" / "__init__.py").write_text("")
    (root / "mod.py").write_text("")
    assert _module_path("tests.pkg", root) == root / "pkg" / "__init__.py"
    assert _module_path("tests.mod", root) == root / "mod.py"
    assert _module_path("tests.absent", root) is None


def test_a_redis_url_names_the_db_index_asked_for() -> None:
    from tests.utils._services.settings import redis_url

    s = load_settings()["redis"]
    assert redis_url(s, 5) == f"redis://{s.host}:{s.port}/5"
    assert redis_url(s) == f"redis://{s.host}:{s.port}/0"
