"""Ladder reason text, health-check bounds and the wait loop (no servers needed)."""

from __future__ import annotations

import socket
import threading
import time
from pathlib import Path

import pytest

from tests.utils._services import docker_backend, health
from tests.utils._services import local as local_backend
from tests.utils._services.catalog import ollama as ollama_service
from tests.utils._services.catalog import postgresql as pg_service
from tests.utils._services.health import HealthReport, check, model_listed, wait_healthy
from tests.utils._services.ports import free_port
from tests.utils._services.settings import load_settings
from tests.utils._services.stack import ServiceUnavailableError, Stack


@pytest.fixture
def stack_factory(tmp_path: Path):
    def make(**env: str) -> Stack:
        return Stack(settings=load_settings({"KAIZEN_TEST_STATE_DIR": str(tmp_path), **env}))

    return make


def test_nothing_worked_lists_every_rung(stack_factory, monkeypatch) -> None:
    port = free_port()
    monkeypatch.setattr(docker_backend, "engine_status", lambda: "no engine answered (x)")
    monkeypatch.setattr(pg_service, "_pg_bin", lambda name: None)
    stack = stack_factory(KAIZEN_TEST_POSTGRES_PORT=str(port))
    outcome = stack.ensure_outcomes(["postgresql"])["postgresql"]
    assert isinstance(outcome, ServiceUnavailableError)
    assert str(outcome) == (
        f"postgresql unavailable at 127.0.0.1:{port}: endpoint 127.0.0.1:{port}: connection "
        "refused; docker: no engine answered (x); local: initdb/postgres not on PATH nor in "
        "/usr/lib/postgresql/*/bin (apt-get install postgresql)"
    )
    assert set(outcome.rungs) == {f"endpoint 127.0.0.1:{port}", "docker", "local"}
    # tried once per stack: a second ask returns the cached outcome without retrying
    assert stack.ensure_outcomes(["postgresql"])["postgresql"] is outcome


def test_disabled_rungs_are_named(stack_factory) -> None:
    port = free_port()
    stack = stack_factory(KAIZEN_TEST_REDIS_PORT=str(port), KAIZEN_TEST_BACKENDS="running")
    with pytest.raises(ServiceUnavailableError) as err:
        stack.ensure(["redis"])
    assert err.value.rungs["docker"] == "disabled by KAIZEN_TEST_BACKENDS"
    assert err.value.rungs["local"] == "disabled by KAIZEN_TEST_BACKENDS"


def test_local_rung_refuses_non_loopback_hosts(tmp_path) -> None:
    s = load_settings({"KAIZEN_TEST_REDIS_HOST": "0.0.0.0"})["redis"]
    with pytest.raises(local_backend.LocalUnavailable, match="not a loopback address"):
        local_backend.start(s, tmp_path / "x", 1.0)


def test_ollama_local_rung_reports_missing_server(tmp_path, monkeypatch) -> None:
    monkeypatch.setattr(local_backend.shutil, "which", lambda name: None)
    monkeypatch.setattr(ollama_service, "local_llm_server_available", lambda: False)
    s = load_settings({})["ollama"]
    with pytest.raises(local_backend.LocalUnavailable, match="local LLM server not available"):
        local_backend.start(s, tmp_path / "o", 1.0)


def test_dead_endpoint_is_reported_fast_and_unhealthy() -> None:
    s = load_settings({"KAIZEN_TEST_POSTGRES_PORT": str(free_port())})["postgresql"]
    started = time.perf_counter()
    report = check(s)
    assert not report.healthy and report.reason == "connection refused"
    assert time.perf_counter() - started < 2.0


def test_missing_driver_is_unhealthy_never_healthy(monkeypatch) -> None:
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(1)
    try:
        port = listener.getsockname()[1]
        s = load_settings({"KAIZEN_TEST_MYSQL_PORT": str(port)})["mysql"]
        import importlib

        real = importlib.import_module

        def fake(name: str, *a, **k):
            if name == "pymysql":
                raise ImportError(name)
            return real(name, *a, **k)

        monkeypatch.setattr(importlib, "import_module", fake)
        report = check(s)
    finally:
        listener.close()
    assert not report.healthy and "driver 'pymysql' is not installed" in report.reason


def test_wait_never_reports_success_after_the_deadline(monkeypatch) -> None:
    s = load_settings({})["redis"]
    calls = []

    def slow_then_ok(settings, backend=None, deadline_s=None):
        calls.append(time.monotonic())
        if len(calls) < 3:
            return HealthReport("redis", False, s.endpoint, reason="connection refused")
        threading.Event().wait(0.3)  # a check that completes after the deadline
        return HealthReport("redis", True, s.endpoint)

    monkeypatch.setattr(health, "check", slow_then_ok)
    report = wait_healthy(s, timeout_s=0.1)
    assert not report.healthy and "deadline" in report.reason


def test_wait_polls_until_healthy_and_stops_when_the_child_died(monkeypatch) -> None:
    s = load_settings({})["redis"]
    seq = iter([False, False, True])
    monkeypatch.setattr(
        health,
        "check",
        lambda st, backend=None, deadline_s=None: HealthReport(
            "redis", next(seq), s.endpoint, reason="refused"
        ),
    )
    assert wait_healthy(s, timeout_s=5).healthy
    monkeypatch.setattr(
        health,
        "check",
        lambda st, backend=None, deadline_s=None: HealthReport(
            "redis", False, s.endpoint, reason="refused"
        ),
    )
    report = wait_healthy(s, timeout_s=5, alive=lambda: "redis-server exited with code 1")
    assert not report.healthy and report.reason.startswith("redis-server exited with code 1")


def test_model_listed_handles_latest_tag() -> None:
    assert model_listed("gemma3:270m", ["gemma3:270m"])
    assert model_listed("llama3", ["llama3:latest"])
    assert not model_listed("gemma3:270m", ["gemma3:1b", "all-minilm:l6-v2"])
