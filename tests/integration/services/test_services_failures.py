"""Failure paths on real processes: death mid-run, foreign port holder, crashed-run reaping,
signals. Each test uses a private stack on free ports (see conftest.py)."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path

import psutil
import pytest

from tests.utils._services.health import check
from tests.utils._services.polling import poll
from tests.utils._services.registry import pid_alive
from tests.utils._services.settings import REPO_ROOT
from tests.utils._services.stack import PortOccupiedError, ServiceDiedError

from .conftest import free_port

pytestmark = pytest.mark.requires_services("redis")  # binaries present <=> redis comes up


def _wait(predicate, timeout_s: float = 30.0, what: str = "condition") -> None:
    if not poll(predicate, timeout_s):
        raise AssertionError(f"{what} not reached within {timeout_s}s")


def test_service_killed_mid_run_is_detected_with_a_clear_error(private_stack) -> None:
    stack = private_stack(KAIZEN_TEST_REDIS_PORT=str(free_port()))
    status = stack.ensure(["redis"])["redis"]
    assert status.backend == "local" and status.pid
    assert stack.verify("redis").healthy
    os.kill(status.pid, signal.SIGKILL)
    _wait(lambda: not pid_alive(status.pid, None), what="redis death")
    with pytest.raises(ServiceDiedError, match=rf"redis \(local, pid {status.pid}\) died"):
        stack.verify("redis")
    # The port is free again, so on a shared machine another process may take it at once
    # (CI saw a reset from a neighbour's listener): the claim is "unhealthy, with a reason".
    report = check(stack.settings["redis"])
    assert not report.healthy and report.reason
    assert report.endpoint == f"127.0.0.1:{stack.settings['redis'].port}"


def test_port_held_by_a_foreign_process_names_the_holder(private_stack) -> None:
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(8)
    port = listener.getsockname()[1]
    stop = threading.Event()

    def serve() -> None:  # accepts and hangs up: not PostgreSQL
        listener.settimeout(0.1)
        while not stop.is_set():
            try:
                conn, _ = listener.accept()
                conn.close()
            except OSError:
                continue

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    try:
        stack = private_stack(KAIZEN_TEST_POSTGRES_PORT=str(port))
        started = time.perf_counter()
        outcome = stack.ensure_outcomes(["postgresql"])["postgresql"]
        assert isinstance(outcome, PortOccupiedError)
        text = str(outcome)
        # named as the OS names this process (pytest-xdist retitles workers when
        # setproctitle is installed: then it is not "python")
        assert f"pid {os.getpid()} ({psutil.Process().name()})" in text, text
        assert f"127.0.0.1:{port} is held by" in text
        assert time.perf_counter() - started < 10
    finally:
        stop.set()
        thread.join(timeout=5)
        listener.close()


def test_later_run_reaps_servers_left_by_a_crashed_run(private_state_dir, private_stack) -> None:
    port = free_port()
    script = textwrap.dedent(f"""
        import json, os, sys
        sys.path.insert(0, {str(REPO_ROOT)!r})
        from tests.utils._services.settings import load_settings
        from tests.utils._services.stack import Stack
        env = dict(os.environ, KAIZEN_TEST_STATE_DIR={str(private_state_dir)!r},
                   KAIZEN_TEST_REDIS_PORT="{port}", KAIZEN_TEST_BACKENDS="running,local")
        status = Stack(settings=load_settings(env)).ensure(["redis"])["redis"]
        print(json.dumps({{"pid": status.pid}}), flush=True)
        os._exit(9)  # crash: no release, no atexit
    """)
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 9, done.stderr
    pid = json.loads(done.stdout.strip().splitlines()[-1])["pid"]
    assert pid_alive(pid, None), "the crashed run's server should still be running"
    stack = private_stack(KAIZEN_TEST_REDIS_PORT=str(port))
    reaped = stack.reap()
    assert any("reaped" in v for v in reaped.values()), reaped
    assert not pid_alive(pid, None)
    state = json.loads((private_state_dir / "stack.json").read_text())
    assert state["services"] == {}


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "Ctrl-C"])
def test_signal_to_a_test_run_stops_what_it_started(private_state_dir, tmp_path, sig) -> None:
    port = free_port()
    pidfile = tmp_path / "redis.pid"
    (tmp_path / "test_inner.py").write_text(
        textwrap.dedent(f"""
        import threading
        from pathlib import Path

        def test_hold(redis_service):
            Path({str(pidfile)!r}).write_text(str(redis_service.pid))
            threading.Event().wait(120)  # until the parent signals this run
    """)
    )
    env = dict(
        os.environ,
        KAIZEN_TEST_STATE_DIR=str(private_state_dir),
        KAIZEN_TEST_REDIS_PORT=str(port),
        KAIZEN_TEST_BACKENDS="running,local",
        PYTHONPATH=str(REPO_ROOT),
    )
    env.pop("CI", None)
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "pytest",
            "-q",
            "-p",
            "tests.utils.pytest_services",
            "-p",
            "no:cacheprovider",
            "test_inner.py",
        ],
        cwd=tmp_path,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    try:
        _wait(lambda: pidfile.exists() and pidfile.read_text().strip() != "", 120, "inner start")
        redis_pid = int(pidfile.read_text())
        assert pid_alive(redis_pid, None)
        proc.send_signal(sig)
        proc.wait(timeout=180)  # a bound for a loaded 2-core machine, not a wait
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    _wait(
        lambda: not psutil.pid_exists(redis_pid) or not pid_alive(redis_pid, None),
        10,
        "redis stopped",
    )
    state = json.loads((private_state_dir / "stack.json").read_text())
    assert state["services"] == {} and state["runs"] == {}
    assert not Path(private_state_dir, "data", f"redis-{port}").exists()
