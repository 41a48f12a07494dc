"""State file, run membership, PID identity and stopping exactly the recorded process."""

from __future__ import annotations

import json
import signal
import subprocess
import sys

import pytest

from tests.utils._services.registry import (
    ProcessRecord,
    Registry,
    pid_alive,
    process_create_time,
    remove_data_dir,
    stop_process,
)
from tests.utils._services.settings import load_settings
from tests.utils._services.stack import Stack

_IDLE = "import threading; threading.Event().wait(120)"


def _record(pid, create_time, **kw) -> ProcessRecord:
    base = dict(
        service="redis",
        endpoint="127.0.0.1:1",
        backend="local",
        pid=pid,
        create_time=create_time,
        owner_kind="run",
        run_id="r1",
        started_at="now",
        start_ms=1.0,
    )
    base.update(kw)
    return ProcessRecord(**base)


def test_state_round_trip_and_membership(tmp_path) -> None:
    reg = Registry(tmp_path)
    with reg.locked():
        reg.put(_record(None, None))
        reg.join("r1", "1:a")
        assert list(reg.records()) == ["redis@127.0.0.1:1"]
        assert reg.leave("r1", "1:a") == []
        assert reg.read()["runs"] == {}
        assert reg.claim("redis@x/1", "r1") is False and reg.claim("redis@x/1", "r1") is True


def test_corrupt_state_file_is_a_clear_error(tmp_path) -> None:
    (tmp_path / "stack.json").write_text("{nope")
    with pytest.raises(RuntimeError, match="is corrupt"):
        Registry(tmp_path).read()


def test_pid_identity_uses_start_time() -> None:
    proc = subprocess.Popen([sys.executable, "-c", _IDLE])
    try:
        created = process_create_time(proc.pid)
        assert pid_alive(proc.pid, created)
        assert not pid_alive(proc.pid, created - 100), "a recycled PID must not match"
    finally:
        proc.kill()
        proc.wait()
    assert not pid_alive(proc.pid, created)


def test_stop_process_sends_the_recorded_signal_then_kills() -> None:
    code = (
        "import signal, sys, threading; signal.signal(signal.SIGTERM, signal.SIG_IGN); "
        "print('ready', flush=True); threading.Event().wait(120)"
    )
    stubborn = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True)
    try:
        assert stubborn.stdout is not None and stubborn.stdout.readline().strip() == "ready"
        rec = _record(stubborn.pid, process_create_time(stubborn.pid))
        assert stop_process(rec, timeout_s=0.5) == "killed (SIGKILL after 0.5s)"
        assert not pid_alive(stubborn.pid, rec.create_time)
    finally:
        if stubborn.poll() is None:
            stubborn.kill()
        stubborn.wait()
    assert stop_process(_record(stubborn.pid, 1.0)) == "already gone"


def test_stop_process_uses_the_recorded_signal() -> None:
    code = (
        "import signal, sys, threading; "
        "signal.signal(signal.SIGINT, lambda *a: sys.exit(42)); "
        "signal.signal(signal.SIGTERM, signal.SIG_IGN); "
        "print('ready', flush=True); threading.Event().wait(120)"
    )
    proc = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True)
    try:
        assert proc.stdout is not None and proc.stdout.readline().strip() == "ready"
        rec = _record(proc.pid, process_create_time(proc.pid), stop_signal=int(signal.SIGINT))
        assert stop_process(rec, timeout_s=10) == "stopped (signal SIGINT)"
    finally:
        if proc.poll() is None:
            proc.kill()
        proc.wait()


def test_reap_removes_dead_records_and_stops_orphans(tmp_path) -> None:
    orphan = subprocess.Popen([sys.executable, "-c", _IDLE])
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    reg = Registry(tmp_path)
    with reg.locked():
        reg.put(
            _record(
                orphan.pid, process_create_time(orphan.pid), run_id="gone", endpoint="127.0.0.1:2"
            )
        )
        reg.put(_record(dead.pid, 1.0, endpoint="127.0.0.1:3", run_id="live"))
        data = reg.read()
        data["runs"] = {"gone": [f"{dead.pid}:x"]}
        reg.write(data)
    stack = Stack(settings=load_settings({"KAIZEN_TEST_STATE_DIR": str(tmp_path)}))
    outcome = stack.reap()
    assert outcome["redis@127.0.0.1:3"] == "record of a dead server removed"
    assert outcome["redis@127.0.0.1:2"].startswith("reaped: stopped")
    assert orphan.wait(timeout=5) is not None
    assert json.loads((tmp_path / "stack.json").read_text())["services"] == {}


def test_data_dir_removal_is_confined_to_the_state_dir(tmp_path) -> None:
    with pytest.raises(RuntimeError, match="refusing to delete"):
        remove_data_dir("/etc", tmp_path)
    inner = tmp_path / "data" / "x"
    inner.mkdir(parents=True)
    remove_data_dir(str(inner), tmp_path)
    assert not inner.exists()
