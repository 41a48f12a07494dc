"""The state file: which servers the toolkit started, by whom, and how to stop exactly them.

Why a file: under pytest-xdist every worker is a process of its own, and `up` from the CLI
must outlive its process. A file lock elects one starter; the state file lets the others
attach, lets the last user stop what its run started, and lets a later run reap servers a
crashed run left behind (owner PIDs gone).

What it never does: signal a PID whose start identity (see identity.py) it cannot prove to be
the one it recorded, or delete the data directory of a server it cannot prove is gone. A
record is written *before* a server is spawned (state "starting"), so a starter killed at
any moment leaves a trace that the next run follows to the server.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from dataclasses import MISSING, asdict, dataclass, field, fields
from pathlib import Path
from typing import Any

from tests.utils.errors import ToolkitError

from .identity import (
    ProcessIdentity,
    Verdict,
    current_process,
    identify,
    pid_running,
    verify,
)
from .polling import poll

STATE_VERSION = 2
LOCK_TIMEOUT_S = 600.0
RECORD_STATES = ("starting", "running")


class StateFileError(ToolkitError, RuntimeError):
    """The state file cannot be read as the toolkit wrote it; the message says what to do."""

    def __init__(self, path: Path, problem: str) -> None:
        super().__init__(
            f"state file {path} is corrupt ({problem}). Stop the servers it lists by hand if "
            f"any are still running (`ps -ef | grep {path.parent}`), then delete the file; "
            "the next run starts afresh"
        )
        self.path = path
        self.problem = problem


class StateDirGoneError(ToolkitError, RuntimeError):
    """A private stack's state directory was removed; it is not silently recreated."""

    def __init__(self, path: Path) -> None:
        super().__init__(
            f"private state directory {path} no longer exists (its stack was torn down or "
            "reaped); make a new one with make_private_state_dir()"
        )
        self.path = path


@dataclass
class ProcessRecord:
    """A server process the toolkit started (or is starting: state "starting")."""

    service: str
    endpoint: str
    backend: str  # "local" or "docker"
    pid: int | None
    #: "cli" (persistent until `down`), "run" (stopped by its last user) or "reuse" (kept
    #: between runs for KAIZEN_TEST_REUSE, until `down` or a settings change)
    owner_kind: str
    run_id: str
    started_at: str
    start_ms: float
    identity: ProcessIdentity | None = None
    version: str | None = None
    data_dir: str | None = None
    command: list[str] = field(default_factory=list)
    stop_signal: int = int(signal.SIGTERM)
    #: "starting" is written before the spawn, so a starter killed mid-start leaves a trace.
    state: str = "running"
    #: the member (see Registry.join) that is starting it; with state "starting" only.
    starter: str | None = None
    #: backend "docker": the container and the engine (DOCKER_HOST) it runs on
    container_id: str | None = None
    docker_host: str | None = None
    #: digest of what the server was started from (settings.settings_hash, or the container
    #: spec's digest): a record whose digest differs from the current one is replaced
    settings_hash: str | None = None

    @property
    def key(self) -> str:
        return record_key(self.service, self.endpoint)

    def verdict(self) -> tuple[Verdict, str]:
        """Is the recorded server process still running (SAME), provably gone, or unknown?"""
        if self.pid is None:
            return Verdict.GONE, "no process recorded"
        return verify(self.identity, self.pid)

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["identity"] = self.identity.to_json() if self.identity else None
        return data

    @classmethod
    def from_json(cls, data: object) -> ProcessRecord:
        """ValueError names the malformed field (the caller wraps it in StateFileError)."""
        if not isinstance(data, dict):
            raise ValueError(f"a record must be an object, got {type(data).__name__}")
        data = dict(data)
        legacy = data.pop("create_time", None)  # version 1: wall-clock based, not verifiable
        known = {f.name for f in fields(cls)}
        unknown = set(data) - known
        if unknown:
            raise ValueError(f"unknown fields {sorted(unknown)}")
        required = {f.name for f in fields(cls) if f.default is MISSING}
        missing = {n for n in required if n != "command"} - set(data)
        if missing:
            raise ValueError(f"missing fields {sorted(missing)}")
        pid = data["pid"]
        if pid is not None and (type(pid) is not int or pid <= 0):
            raise ValueError(f"pid must be a positive integer or null, got {pid!r}")
        ident = data.get("identity")
        data["identity"] = None if ident is None else ProcessIdentity.from_json(ident)
        if data["identity"] is not None and data["identity"].pid != pid:
            raise ValueError(f"identity pid {data['identity'].pid} differs from pid {pid}")
        if data.get("state", "running") not in RECORD_STATES:
            raise ValueError(f"state must be one of {RECORD_STATES}, got {data['state']!r}")
        for name in ("service", "endpoint", "backend", "owner_kind", "run_id"):
            if not isinstance(data[name], str):
                raise ValueError(f"{name} must be a string, got {data[name]!r}")
        for name in ("container_id", "docker_host", "settings_hash"):
            if data.get(name) is not None and not isinstance(data[name], str):
                raise ValueError(f"{name} must be a string or null, got {data[name]!r}")
        if type(data.get("stop_signal", 15)) is not int:
            raise ValueError(f"stop_signal must be an integer, got {data['stop_signal']!r}")
        del legacy
        return cls(**data)


def record_key(service: str, endpoint: str) -> str:
    return f"{service}@{endpoint}"


def new_member() -> str:
    """This process as a run member: "<pid>:<start ticks>:<token>" (one process may host
    several runs, as pytester does; the start ticks make a recycled PID a different member)."""
    me = current_process()
    ticks = me.start_ticks if me.start_ticks is not None else 0
    return f"{me.pid}:{ticks}:{uuid.uuid4().hex[:8]}"


def member_alive(member: object) -> bool:
    """False only when the member's process is provably gone (unknown counts as alive)."""
    parts = str(member).split(":")
    try:
        pid = int(parts[0])
    except ValueError:
        raise ValueError(f"run member {member!r} does not start with a PID") from None
    if len(parts) == 3 and parts[1].isdigit() and int(parts[1]) > 0:
        verdict, _ = verify(ProcessIdentity(pid, None, int(parts[1])))
        return verdict is not Verdict.GONE
    return pid_running(pid)


def pid_alive(pid: int | None, identity: ProcessIdentity | None = None) -> bool:
    """True if `pid` runs and, when an identity is given, provably is that process."""
    if pid is None:
        return False
    if identity is None:
        return pid_running(pid)
    return verify(identity, pid)[0] is Verdict.SAME


def stop_process(record: ProcessRecord, timeout_s: float = 10.0) -> str:
    """Signal exactly this recorded process (its stop signal, then SIGKILL at the deadline).

    Returns "already gone", "stopped ...", "killed ..." or raises UnverifiedProcessError: a
    PID whose identity cannot be proven is never signalled.
    """
    import psutil

    verdict, reason = record.verdict()
    if verdict is Verdict.GONE:
        return "already gone"
    if verdict is Verdict.UNKNOWN:
        raise UnverifiedProcessError(record, reason)
    assert record.pid is not None
    try:
        proc = psutil.Process(record.pid)
        children = proc.children(recursive=True)
        proc.send_signal(record.stop_signal)
        if _wait_exit(record.pid, timeout_s):
            outcome = f"stopped (signal {signal.Signals(record.stop_signal).name})"
        else:
            proc.kill()
            if not _wait_exit(record.pid, 5.0):
                return f"still running 5s after SIGKILL (pid {record.pid})"
            outcome = f"killed (SIGKILL after {timeout_s:g}s)"
        for child in children:  # backends that outlived their parent (children of ours)
            with suppress(psutil.Error):
                child.kill()
    except psutil.NoSuchProcess:
        outcome = "already gone"
    return outcome


def _wait_exit(pid: int, timeout_s: float) -> bool:
    """True once `pid` has exited (a zombie counts), reaping it if it is our child.

    Why not psutil's wait(): for a server orphaned by a crashed starter the parent is init,
    and where init is slow to reap, psutil waits for the zombie to vanish, past its timeout.
    """

    def exited() -> bool:
        with suppress(ChildProcessError):
            os.waitpid(pid, os.WNOHANG)
        return not pid_running(pid)

    return poll(exited, timeout_s)


class UnverifiedProcessError(ToolkitError, RuntimeError):
    """A recorded PID is running but cannot be proven to be the process we started."""

    def __init__(self, record: ProcessRecord, reason: str) -> None:
        super().__init__(
            f"refusing to signal pid {record.pid} ({record.service} at {record.endpoint}): "
            f"{reason}. If it is the toolkit's server, stop it yourself (kill {record.pid}); "
            "the record is dropped once the PID is gone"
        )
        self.record = record


def find_processes_using(path: str) -> list[int]:
    """PIDs whose command line names `path` (a data directory under our state dir).

    Why: a starter killed between spawn and recording the PID leaves a server only its
    command line can lead us to; the path is unique to our state directory, so a process
    naming it is ours.
    """
    import psutil

    found = []
    for proc in psutil.process_iter(["pid", "cmdline"]):
        cmdline = proc.info.get("cmdline") or []
        named = any(a == path or path + os.sep in a or a.endswith("=" + path) for a in cmdline)
        if named and proc.info["pid"] != os.getpid():
            found.append(int(proc.info["pid"]))
    return found


class Registry:
    """Lock + JSON state in the shared state directory."""

    def __init__(self, state_dir: Path, *, create: bool = True) -> None:
        #: False for a private stack's directory: once its owner (or a reaper) removed it,
        #: recreating it would leave a directory with no owner file that nobody reaps.
        self._create = create
        #: Serialises this process's read-modify-write cycles: the file lock keeps other
        #: processes out, but the stack's threads (one per service) share one lock holder.
        self._mutex = threading.RLock()
        self.state_dir = state_dir
        self.state_file = state_dir / "stack.json"
        self.lock_file = state_dir / "stack.lock"
        self._lock: Any = None

    def ensure_dir(self) -> None:
        if not self._create and not self.state_dir.is_dir():
            raise StateDirGoneError(self.state_dir)
        # 0755: the postgres/mysql users must traverse it to reach their data directories.
        self.state_dir.mkdir(parents=True, exist_ok=True, mode=0o755)
        os.chmod(self.state_dir, 0o755)

    def can_lock(self) -> bool:
        """False only for a private directory that is gone (see StateDirGoneError)."""
        return self._create or self.state_dir.is_dir()

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
        """The whole state, validated; StateFileError (never a raw traceback) if corrupt."""
        try:
            raw = self.state_file.read_bytes()
        except FileNotFoundError:
            return {"version": STATE_VERSION, "services": {}, "runs": {}, "claims": {}}
        try:
            data = json.loads(raw.decode("utf-8"))
        except UnicodeDecodeError as exc:
            raise StateFileError(self.state_file, f"not UTF-8 text: {exc.reason}") from None
        except json.JSONDecodeError as exc:
            raise StateFileError(self.state_file, f"not JSON: {exc}") from None
        if not isinstance(data, dict):
            raise StateFileError(
                self.state_file, f"expected a JSON object, got {type(data).__name__}"
            )
        unknown = set(data) - {"version", "services", "runs", "claims"}
        if unknown:
            raise StateFileError(self.state_file, f"unknown top-level keys {sorted(unknown)}")
        data.setdefault("services", {})
        data.setdefault("runs", {})
        data.setdefault("claims", {})
        for key in ("services", "runs", "claims"):
            if not isinstance(data[key], dict):
                raise StateFileError(self.state_file, f"{key!r} must be an object")
        for key, value in data["services"].items():
            try:
                ProcessRecord.from_json(value)
            except (ValueError, TypeError) as exc:
                raise StateFileError(self.state_file, f"service record {key!r}: {exc}") from None
        for run_id, members in data["runs"].items():
            if not isinstance(members, list):
                raise StateFileError(self.state_file, f"run {run_id!r}: members must be a list")
            for member in members:
                try:
                    int(str(member).split(":", 1)[0])
                except ValueError:
                    raise StateFileError(
                        self.state_file, f"run {run_id!r}: member {member!r} has no numeric PID"
                    ) from None
        for key, claim in data["claims"].items():
            if not (isinstance(claim, str) or (isinstance(claim, dict) and "member" in claim)):
                raise StateFileError(self.state_file, f"claim {key!r} is malformed: {claim!r}")
        data["version"] = STATE_VERSION
        return data

    def write(self, data: dict[str, Any]) -> None:
        """Atomic replace: a reader never sees half a file, a crash never leaves one."""
        tmp = self.state_file.with_name(
            f"{self.state_file.name}.{os.getpid()}.{threading.get_ident()}.tmp"
        )
        tmp.write_text(json.dumps(data, indent=2, sort_keys=True), encoding="utf-8")
        os.replace(tmp, self.state_file)

    def records(self, data: dict[str, Any] | None = None) -> dict[str, ProcessRecord]:
        data = self.read() if data is None else data
        return {k: ProcessRecord.from_json(v) for k, v in data["services"].items()}

    def put(self, record: ProcessRecord) -> None:
        with self._mutex:
            data = self.read()
            data["services"][record.key] = record.to_json()
            self.write(data)

    def remove(self, key: str) -> None:
        with self._mutex:
            data = self.read()
            data["services"].pop(key, None)
            self.write(data)

    # -- claims (e.g. a Redis db index the toolkit may FLUSHDB) -------------------------
    def allocate(
        self,
        prefix: str,
        candidates: range,
        member: str,
        run_id: str,
        usable: Callable[[int, bool], str | None],
    ) -> int:
        """Claim the first candidate no live member holds and `usable(index, ours)` accepts.

        Call under `locked()`: the claim is then atomic across processes and clones sharing
        the state directory. `ours` tells `usable` that a dead member of ours held the index
        (leftovers are ours to flush). `usable` returns None to accept or a reason to skip.
        Nothing is written for a refused index; RefusedClaimError lists every reason.
        """
        with self._mutex:
            data = self.read()
            claims = data["claims"]
            reasons: dict[int, str] = {}
            for index in candidates:
                key = f"{prefix}/{index}"
                holder = claims.get(key)
                if holder is not None:
                    holder_member = holder["member"] if isinstance(holder, dict) else None
                    holder_run = holder["run"] if isinstance(holder, dict) else str(holder)
                    if holder_member == member:
                        return index  # this process claimed it already
                    live = (
                        member_alive(holder_member)
                        if holder_member is not None
                        else bool(self.live_users(data, holder_run))
                    )
                    if live:
                        reasons[index] = f"claimed by run {holder_run}"
                        continue
                why = usable(index, holder is not None)
                if why is not None:
                    reasons[index] = why
                    continue
                claims[key] = {"member": member, "run": run_id}
                self.write(data)
                return index
            raise RefusedClaimError(prefix, reasons)

    def release_claim(self, prefix: str, index: int, member: str) -> None:
        """Drop our claim (only ours: another member's claim is left as it is)."""
        with self._mutex:
            data = self.read()
            key = f"{prefix}/{index}"
            holder = data["claims"].get(key)
            if isinstance(holder, dict) and holder.get("member") == member:
                del data["claims"][key]
                self.write(data)

    # -- run membership ----------------------------------------------------------------
    def join(self, run_id: str, member: str) -> None:
        """`member` is from new_member(): one process may host several runs (pytester)."""
        with self._mutex:
            data = self.read()
            users = {str(u) for u in data["runs"].get(run_id, [])}
            users.add(member)
            data["runs"][run_id] = sorted(users)
            self.write(data)

    def leave(self, run_id: str, member: str) -> list[str]:
        """Remove `member` from the run; returns the run's members still alive."""
        with self._mutex:
            data = self.read()
            users = [
                str(u) for u in data["runs"].get(run_id, []) if str(u) != member and member_alive(u)
            ]
            if users:
                data["runs"][run_id] = users
            else:
                data["runs"].pop(run_id, None)
            self.write(data)
            return users

    def live_users(self, data: dict[str, Any], run_id: str) -> list[str]:
        return [str(u) for u in data["runs"].get(run_id, []) if member_alive(u)]


class RefusedClaimError(ToolkitError, RuntimeError):
    """No candidate index could be claimed; `reasons` says why for each."""

    def __init__(self, prefix: str, reasons: dict[int, str]) -> None:
        detail = "; ".join(f"{i}: {why}" for i, why in sorted(reasons.items()))
        super().__init__(f"no free index on {prefix}: {detail}")
        self.reasons = dict(reasons)


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


class OwnRecord:
    """A server that a test or script starts by hand, recorded as the stack records its own:
    written before the spawn, in a run of its own whose only member is this process, so the
    next run's reap stops it by its verified identity once this process is gone."""

    def __init__(
        self,
        state_dir: Path,
        service: str,
        endpoint: str,
        data_dir: Path | None = None,
        *,
        create: bool = True,
    ) -> None:
        self.registry = Registry(state_dir, create=create)
        self.member = new_member()
        self.run_id = f"own-{service}-{self.member.rsplit(':', 1)[-1]}"
        self.record = ProcessRecord(
            service=service,
            endpoint=endpoint,
            backend="local",
            pid=None,
            owner_kind="run",
            run_id=self.run_id,
            started_at=now_iso(),
            start_ms=0.0,
            data_dir=str(data_dir) if data_dir is not None else None,
            state="starting",
            starter=self.member,
        )
        with self.registry.locked():
            self.registry.join(self.run_id, self.member)
            self.registry.put(self.record)

    def spawned(self, pid: int, command: list[str]) -> None:
        """The server's PID (again after a restart in place), with its start identity."""
        rec = self.record
        rec.pid, rec.identity, rec.command = pid, identify(pid), list(command)
        rec.state, rec.starter = "running", None
        with self.registry.locked():
            self.registry.put(rec)

    def forget(self) -> None:
        """The server is stopped (by its owner): drop the record and leave the run."""
        with self.registry.locked():
            self.registry.remove(self.record.key)
            self.registry.leave(self.run_id, self.member)
