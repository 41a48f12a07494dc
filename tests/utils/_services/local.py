"""Local-process backend: real servers as child processes on the configured loopback ports.

Why: a machine without Docker (ours start without an engine) still needs real servers.
Each service's starter (`Service.start_local`, in its catalog module) prepares a fresh data
directory under the state directory, starts the server in a new session (so a terminal
Ctrl-C reaches the toolkit, which stops servers by PID in order), and bootstraps the test
user and database over a private channel (unix socket). This module holds what they share.
"""

from __future__ import annotations

import contextvars
import ipaddress
import os
import pwd
import shutil
import signal
import subprocess
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tests.utils.errors import ToolkitError

from . import catalog
from .polling import wait_for
from .settings import ServiceSettings

#: Set by start() for the starter running in this thread (see start's `on_spawn`).
_ON_SPAWN: contextvars.ContextVar[Callable[[int, list[str]], None] | None] = contextvars.ContextVar(
    "kzt_on_spawn", default=None
)

SETUP_TIMEOUT_S = 60.0


class LocalUnavailable(ToolkitError):
    """This rung does not apply here (binary missing, ...); the message says what was found."""


class LocalStartError(ToolkitError):
    """The rung applied but the server did not come up; the message includes its log tail."""


@dataclass
class Started:
    popen: subprocess.Popen[bytes]
    base_dir: Path
    command: list[str]
    log_path: Path
    stop_signal: int = int(signal.SIGTERM)
    notes: list[str] = field(default_factory=list)

    def terminate(self) -> None:
        """Stop the child we just spawned (start failed before it was recorded)."""
        if self.popen.poll() is None:
            self.popen.send_signal(self.stop_signal)
            try:
                self.popen.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.popen.kill()
                self.popen.wait(timeout=5)

    def exited(self) -> str | None:
        """None while running, else a reason with the log tail."""
        code = self.popen.poll()
        if code is None:
            return None
        return f"{Path(self.command[0]).name} exited with code {code}; {log_tail(self.log_path)}"


def log_tail(path: Path, lines: int = 5) -> str:
    try:
        text = path.read_text(encoding="utf-8", errors="replace").strip().splitlines()
    except OSError:
        return f"no log at {path}"
    tail = " | ".join(line.strip() for line in text[-lines:] if line.strip())
    return f"log {path}: {tail}" if tail else f"log {path} is empty"


def is_root() -> bool:
    return os.geteuid() == 0


def which(name: str, extra_dirs: list[str] = ()) -> str | None:  # type: ignore[assignment]
    found = shutil.which(name)
    if found:
        return found
    for directory in extra_dirs:
        candidate = Path(directory) / name
        if candidate.is_file() and os.access(candidate, os.X_OK):
            return str(candidate)
    return None


def _require_loopback(s: ServiceSettings) -> None:
    try:
        loopback = s.host == "localhost" or ipaddress.ip_address(s.host).is_loopback
    except ValueError:
        loopback = False
    if not loopback:
        raise LocalUnavailable(
            f"configured host {s.host} is not a loopback address; the local backend binds "
            "127.0.0.1 only"
        )


def system_user(name: str) -> pwd.struct_passwd:
    try:
        return pwd.getpwnam(name)
    except KeyError:
        raise LocalUnavailable(
            f"running as root and there is no {name!r} system user to run the server as"
        ) from None


def as_user(user: pwd.struct_passwd | None) -> list[str]:
    """setpriv execs in place, so the PID we record is the server's own PID."""
    if user is None:
        return []
    setpriv = which("setpriv", ["/usr/bin", "/bin"])
    if setpriv is None:
        raise LocalUnavailable("running as root and `setpriv` (util-linux) is not on PATH")
    return [setpriv, f"--reuid={user.pw_uid}", f"--regid={user.pw_gid}", "--init-groups", "--"]


def fresh_dir(path: Path, owner: pwd.struct_passwd | None, mode: int = 0o700) -> Path:
    if path.exists():
        shutil.rmtree(path)
    path.mkdir(parents=True, mode=mode)
    if owner is not None:
        os.chown(path, owner.pw_uid, owner.pw_gid)
    return path


def _run(cmd: list[str], what: str, log: Path) -> None:
    try:
        done = subprocess.run(
            cmd, stdin=subprocess.DEVNULL, capture_output=True, timeout=SETUP_TIMEOUT_S
        )
    except subprocess.TimeoutExpired:
        raise LocalStartError(f"{what} did not finish within {SETUP_TIMEOUT_S:.0f}s") from None
    log.write_bytes(done.stdout + done.stderr)
    if done.returncode != 0:
        raise LocalStartError(f"{what} failed with code {done.returncode}; {log_tail(log)}")


def from_pristine(
    init: list[str], what: str, target: Path, base: Path, owner: pwd.struct_passwd | None
) -> None:
    """Initialise `target` by copying a cached, freshly initialised data directory.

    Why: initdb / mariadb-install-db cost 0.5-5 s on a busy 2-core machine while a copy costs
    ~0.1 s. The cache key is the exact init command (binary path, version-independent flags)
    plus the binary's mtime, so an upgraded server never gets a stale directory.
    """
    import hashlib

    binary = next(a for a in init if a.startswith("/") and "setpriv" not in a)
    key_src = " ".join(a for a in init if not a.startswith("--datadir") and a != "-D")
    key_src = key_src.replace(str(target), "") + f"|{os.stat(binary).st_mtime_ns}"
    key = hashlib.sha256(key_src.encode()).hexdigest()[:16]
    cache = base.parent.parent / "pristine" / f"{target.name}-{key}"
    if not cache.is_dir():
        staging = cache.with_name(cache.name + f".tmp{os.getpid()}")
        fresh_dir(staging, owner, mode=0o700)
        _run([a.replace(str(target), str(staging)) for a in init], what, base / "init.log")
        cache.parent.mkdir(parents=True, exist_ok=True, mode=0o755)
        try:
            os.rename(staging, cache)
        except OSError:  # another process won the race: use theirs
            shutil.rmtree(staging, ignore_errors=True)
    if target.exists():
        shutil.rmtree(target)
    done = subprocess.run(
        ["cp", "-a", str(cache), str(target)],
        capture_output=True,
        text=True,
        timeout=SETUP_TIMEOUT_S,
    )
    if done.returncode != 0:
        raise LocalStartError(f"copying cached data directory {cache} failed: {done.stderr}")


def spawn(
    cmd: list[str],
    base: Path,
    env: dict[str, str] | None = None,
    cwd: Path | None = None,
    log_name: str = "server.log",
) -> tuple[subprocess.Popen[bytes], Path]:
    log_path = base / log_name
    with open(log_path, "ab") as log:
        try:
            popen = subprocess.Popen(
                cmd,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
                env=env,
                cwd=cwd or base,
            )
        except OSError as exc:
            raise LocalStartError(f"cannot run {cmd[0]}: {exc}") from None
    hook = _ON_SPAWN.get()
    if hook is not None:  # record the PID now, before any bootstrap can be interrupted
        hook(popen.pid, cmd)
    return popen, log_path


def poll_ready(
    what: str, attempt: Callable[[], object], started: Started, timeout_s: float
) -> None:
    """Retry `attempt` (a bootstrap step) until it stops raising, the child dies, or the
    deadline passes; LocalStartError with the last error and the log tail otherwise."""
    waited = wait_for(
        attempt,
        timeout_s,
        done=lambda _value: True,
        alive=started.exited,
        errors=(Exception,),
        first_pause_s=0.01,
        max_pause_s=0.2,
    )
    if waited.ok:
        return
    if waited.dead is not None:
        raise LocalStartError(f"{what}: {waited.dead}")
    started.terminate()
    raise LocalStartError(
        f"{what}: not ready after {timeout_s:.0f}s ({waited.last()}); {log_tail(started.log_path)}"
    )


def start(
    s: ServiceSettings,
    base: Path,
    timeout_s: float,
    on_spawn: Callable[[int, list[str]], None] | None = None,
) -> Started:
    """Start one service locally; raises LocalUnavailable or LocalStartError.

    `on_spawn(pid, command)` runs right after the server process exists, before its
    bootstrap, so the caller can record it while a crash would still leave it unrecorded.
    """
    _require_loopback(s)
    base.mkdir(parents=True, exist_ok=True, mode=0o755)
    token = _ON_SPAWN.set(on_spawn)
    try:
        return catalog.get(s.name).start_local(s, base, timeout_s)
    finally:
        _ON_SPAWN.reset(token)


#: where the service-specific starters went (catalog/<service>.py); the old names resolve
_MOVED = {
    "start_postgresql": ("postgresql", "start_local"),
    "_pg_bin": ("postgresql", "_pg_bin"),
    "start_mysql": ("mysql", "start_local"),
    "MYSQL_ROOT_PASSWORD_FILE": ("mysql", "MYSQL_ROOT_PASSWORD_FILE"),
    "mysql_bootstrap_sql": ("mysql", "mysql_bootstrap_sql"),
    "start_redis": ("redis", "start_local"),
    "start_mongodb": ("mongodb", "start_local"),
    "secantus_executable": ("mongodb", "secantus_executable"),
    "start_ollama": ("ollama", "start_local"),
    "local_llm_server_available": ("ollama", "local_llm_server_available"),
    "LOCAL_LLM_MODULE": ("ollama", "LOCAL_LLM_MODULE"),
}
#: the names these helpers had while private
_which, _spawn, _poll, _from_pristine = which, spawn, poll_ready, from_pristine
_as_user, _system_user, _fresh_dir = as_user, system_user, fresh_dir


def __getattr__(name: str) -> Any:
    import importlib

    if name == "STARTERS":
        return {svc.name: svc.start_local for svc in catalog.services()}
    if name in _MOVED:
        module, attr = _MOVED[name]
        return getattr(importlib.import_module(f"{__package__}.catalog.{module}"), attr)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
