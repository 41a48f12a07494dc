"""The state file: which servers the toolkit started, by whom, and how to stop exactly them.

Why a file: under pytest-xdist every worker is a process of its own, and `up` from the CLI
must outlive its process. A file lock elects one starter; the state file lets the others
attach, lets the last user stop what its run started, and lets a later run reap servers a
crashed run left behind (owner PIDs gone). Only recorded PIDs whose start time still matches
are ever signalled, so a recycled PID is never hit.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

STATE_VERSION = 1
LOCK_TIMEOUT_S = 600.0


@dataclass
class ProcessRecord:
    """A server process the toolkit started."""

    service: str
    endpoint: str
    backend: str  # "local" or "docker"
    pid: int | None
    create_time: float | None
    owner_kind: str  # "cli" (persistent until `down`) or "run" (stopped by its last user)
    run_id: str
    started_at: str
    start_ms: float
    version: str | None = None
    data_dir: str | None = None
    command: list[str] = field(default_factory=list)
    stop_signal: int = int(signal.SIGTERM)

    @property
    def key(self) -> str:
        return record_key(self.service, self.endpoint)


def record_key(service: str, endpoint: str) -> str:
    return f"{service}@{endpoint}"


def pid_alive(pid: int | None, create_time: float | None) -> bool:
    """True if `pid` runs and is the same process we recorded (start time matches)."""
    if pid is None:
        return False
    import psutil

    try:
        proc = psutil.Process(pid)
        if proc.status() == psutil.STATUS_ZOMBIE:
            return False
        return create_time is None or abs(proc.create_time() - create_time) < 0.05
    except psutil.Error:
        return False


def process_create_time(pid: int) -> float | None:
    import psutil

    try:
        return psutil.Process(pid).create_time()
    except psutil.Error:
        return None


def stop_process(record: ProcessRecord, timeout_s: float = 10.0) -> str:
    """Signal exactly this recorded process (its stop signal, then SIGKILL at the deadline)."""
    import psutil

    if not pid_alive(record.pid, record.create_time):
        return "already gone"
    assert record.pid is not None
    proc = psutil.Process(record.pid)
    try:
        children = proc.children(recursive=True)
        proc.send_signal(record.stop_signal)
        try:
            proc.wait(timeout=timeout_s)
            outcome = f"stopped (signal {signal.Signals(record.stop_signal).name})"
        except psutil.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=5)
            outcome = f"killed (SIGKILL after {timeout_s:g}s)"
        for child in children:  # backends that outlived their parent
            with suppress(psutil.Error):
                child.kill()
    except psutil.NoSuchProcess:
        outcome = "already gone"
    return outcome


class Registry:
    """Lock + JSON state in the shared state directory."""

    def __init__(self, state_dir: Path) -> None:
        self.state_dir = state_dir
        self.state_file = state_dir / "stack.json"
        self.lock_file = state_dir / "stack.lock"
        self._lock: Any = None

    def ensure_dir(self) -> None:
        # 0755: the postgres/mysql users must traverse it to reach their data directories.
        self.state_dir.mkdir(parents=True, exist_ok=True, mode=0o755)
        os.chmod(self.state_dir, 0o755)

    @contextmanager
    def locked(self, timeout_s: float = LOCK_TIMEOUT_S) -> Iterator[None]:
        from filelock import FileLock

        self.ensure_dir()
        if self._lock is None:
            self._lock = FileLock(str(self.lock_file), timeout=timeout_s)
        with self._lock:
            yield

    # -- state -------------------------------------------------------------------------
    def read(self) -> dict[str, Any]:
        try:
            data = json.loads(self.state_file.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return {"version": STATE_VERSION, "services": {}, "runs": {}}
        except json.JSONDecodeError as exc:
            raise RuntimeError(
                f"state file {self.state_file} is corrupt ({exc}); stop the servers it lists "
                "by hand if any, then delete it"
            ) from None
        data.setdefault("services", {})
        data.setdefault("runs", {})
        return data

    def write(self, data: dict[str, Any]) -> None:
        tmp = self.state_file.with_suffix(".tmp")
        tmp.write_text(json.dumps(data, indent=2, sort_keys=True), encoding="utf-8")
        os.replace(tmp, self.state_file)

    def records(self, data: dict[str, Any] | None = None) -> dict[str, ProcessRecord]:
        data = self.read() if data is None else data
        return {k: ProcessRecord(**v) for k, v in data["services"].items()}

    def put(self, record: ProcessRecord) -> None:
        data = self.read()
        data["services"][record.key] = asdict(record)
        self.write(data)

    def remove(self, key: str) -> None:
        data = self.read()
        data["services"].pop(key, None)
        self.write(data)

    # -- claims (e.g. a Redis db index the toolkit may FLUSHDB) -------------------------
    def claim(self, key: str, run_id: str) -> bool:
        """Record a claim; returns True if this key was already claimed before."""
        data = self.read()
        claims = data.setdefault("claims", {})
        before = key in claims
        claims[key] = run_id
        self.write(data)
        return before

    def unclaim(self, key: str) -> None:
        data = self.read()
        data.setdefault("claims", {}).pop(key, None)
        self.write(data)

    # -- run membership ----------------------------------------------------------------
    def join(self, run_id: str, member: str) -> None:
        """`member` is "<pid>:<token>": one process may host several runs (pytester)."""
        data = self.read()
        users = {str(u) for u in data["runs"].get(run_id, [])}
        users.add(member)
        data["runs"][run_id] = sorted(users)
        self.write(data)

    def leave(self, run_id: str, member: str) -> list[str]:
        """Remove `member` from the run; returns the run's members still alive."""
        data = self.read()
        users = [
            str(u) for u in data["runs"].get(run_id, []) if str(u) != member and _member_alive(u)
        ]
        if users:
            data["runs"][run_id] = users
        else:
            data["runs"].pop(run_id, None)
        self.write(data)
        return users

    def live_users(self, data: dict[str, Any], run_id: str) -> list[str]:
        return [str(u) for u in data["runs"].get(run_id, []) if _member_alive(u)]


def _member_alive(member: object) -> bool:
    return _pid_exists(int(str(member).split(":", 1)[0]))


def _pid_exists(pid: int) -> bool:
    import psutil

    try:
        return psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
    except psutil.Error:
        return False


def remove_data_dir(path: str | None, state_dir: Path) -> None:
    """Delete a server's data directory, but only inside our state directory."""
    if not path:
        return
    target = Path(path).resolve()
    if state_dir.resolve() not in target.parents:
        raise RuntimeError(f"refusing to delete {target}: not under {state_dir}")
    shutil.rmtree(target, ignore_errors=True)


def now_iso() -> str:
    from datetime import UTC, datetime

    return datetime.now(UTC).isoformat(timespec="seconds")


def monotonic_ms(start: float) -> float:
    return round((time.perf_counter() - start) * 1000, 1)
