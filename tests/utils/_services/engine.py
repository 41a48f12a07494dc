"""A Docker engine of the toolkit's own: install Debian's docker.io, start dockerd, stop it.

    python -m tests.utils._services.engine start    # installs docker.io when missing
    python -m tests.utils._services.engine build [service ...]   # see imagebuild.py
    python -m tests.utils._services.engine env      # export DOCKER_HOST=... KAIZEN_TEST_*_IMAGE=...
    python -m tests.utils._services.engine status
    python -m tests.utils._services.engine clean    # remove every container; exit 1 if any
    python -m tests.utils._services.engine stop     # dockerd by its verified PID

Why a dockerd of our own (its own --data-root, --exec-root, unix socket and pidfile under
one state directory) rather than the system's: CI machines start without an engine; one we
start is one we can stop exactly (by the PID identity of identity.py, never by a name), and
its image store survives between runs (the state directory is persistent:
/var/cache/kaizen-docker as root), so images are built once per machine.

It changes as little of the host as it can: no iptables rules, no ip_forward or masquerade
(`--iptables=false --ip-forward=false --ip-masq=false`): ports published on 127.0.0.1 are
served by docker-proxy, which reaches the containers over the bridge without NAT. Builds
use the host's network (`network_mode="host"`), so nothing needs outbound NAT either.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tests.utils.errors import ToolkitError

from .identity import ProcessIdentity, Verdict, identify, verify
from .polling import poll
from .registry import find_processes_using, member_alive, new_member, now_iso

STATE_ENV = "KAIZEN_DOCKER_STATE_DIR"
START_TIMEOUT_S = 90.0
STOP_TIMEOUT_S = 30.0
APT_TIMEOUT_S = 900.0
#: dockerd's own grace for containers at shutdown (its default, 15 s, is CI time wasted).
SHUTDOWN_TIMEOUT_S = 5


class EngineError(ToolkitError, RuntimeError):
    """The engine cannot be installed, started or stopped; the message says the fix."""


def default_state_dir() -> Path:
    configured = os.environ.get(STATE_ENV)
    if configured:
        return Path(configured)
    if os.geteuid() == 0:
        return Path("/var/cache/kaizen-docker")
    return Path(tempfile.gettempdir()) / f"kaizen-docker-{os.getuid()}"


@dataclass(frozen=True)
class EnginePaths:
    """Everything one engine owns lives under `root`; nothing else is written."""

    root: Path

    @property
    def data_root(self) -> Path:
        return self.root / "data"

    @property
    def exec_root(self) -> Path:
        return self.root / "exec"

    @property
    def socket(self) -> Path:
        return self.root / "docker.sock"

    @property
    def pidfile(self) -> Path:
        return self.root / "docker.pid"

    @property
    def record(self) -> Path:
        return self.root / "engine.json"

    @property
    def log(self) -> Path:
        return self.root / "dockerd.log"

    @property
    def config(self) -> Path:
        return self.root / "daemon.json"

    @property
    def docker_host(self) -> str:
        return f"unix://{self.socket}"


# -- install -------------------------------------------------------------------------------
def is_root() -> bool:
    return os.geteuid() == 0


def apt_install(packages: Sequence[str], progress: Callable[[str], None] = print) -> None:
    """Debian packages through apt (root only); EngineError with apt's last lines on failure."""
    if not is_root():
        raise EngineError(
            f"{', '.join(packages)} missing and not root: as root run "
            f"apt-get install -y --no-install-recommends {' '.join(packages)}"
        )
    env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
    progress(f"apt-get install {' '.join(packages)}")
    for cmd in (
        ["apt-get", "update", "-qq"],
        ["apt-get", "install", "-y", "-qq", "--no-install-recommends", *packages],
    ):
        try:
            done = subprocess.run(
                cmd, env=env, capture_output=True, text=True, timeout=APT_TIMEOUT_S
            )
        except subprocess.TimeoutExpired:
            raise EngineError(f"{' '.join(cmd)} did not finish in {APT_TIMEOUT_S:.0f}s") from None
        if done.returncode != 0:
            tail = " | ".join((done.stderr or done.stdout).strip().splitlines()[-3:])
            raise EngineError(f"{' '.join(cmd)} failed ({done.returncode}): {tail}")


def dockerd_binary() -> str | None:
    found = shutil.which("dockerd")
    if found:
        return found
    candidate = Path("/usr/sbin/dockerd")
    return str(candidate) if candidate.is_file() else None


def ensure_installed(progress: Callable[[str], None] = print) -> str:
    """The dockerd binary, installing Debian's docker.io first when it is missing."""
    found = dockerd_binary()
    if found is not None:
        return found
    apt_install(["docker.io"], progress)
    found = dockerd_binary()
    if found is None:
        raise EngineError("apt installed docker.io but no dockerd is on PATH or in /usr/sbin")
    return found


# -- the engine record ---------------------------------------------------------------------
@dataclass
class EngineRecord:
    """Written before the spawn (state "starting"), so a starter killed at any moment leaves
    a trace; the PID and its start identity are added right after the spawn."""

    state: str
    starter: str
    started_at: str
    command: list[str]
    pid: int | None = None
    identity: ProcessIdentity | None = None

    def to_json(self) -> dict[str, Any]:
        return {
            "state": self.state,
            "starter": self.starter,
            "started_at": self.started_at,
            "command": self.command,
            "pid": self.pid,
            "identity": self.identity.to_json() if self.identity else None,
        }

    @classmethod
    def from_json(cls, data: Any) -> EngineRecord:
        try:
            ident = data.get("identity")
            return cls(
                state=str(data["state"]),
                starter=str(data["starter"]),
                started_at=str(data["started_at"]),
                command=[str(a) for a in data["command"]],
                pid=data.get("pid"),
                identity=None if ident is None else ProcessIdentity.from_json(ident),
            )
        except (KeyError, TypeError, AttributeError, ValueError) as exc:
            raise ValueError(f"malformed engine record: {exc}") from None

    def verdict(self) -> tuple[Verdict, str]:
        if self.pid is None:
            return Verdict.GONE, "no dockerd PID recorded"
        return verify(self.identity, self.pid)


class Engine:
    """One dockerd under one state directory."""

    def __init__(self, root: Path | None = None, progress: Callable[[str], None] = print) -> None:
        self.paths = EnginePaths(root or default_state_dir())
        self._say = progress

    # -- state -----------------------------------------------------------------------------
    @contextmanager
    def _locked(self) -> Iterator[None]:
        from filelock import FileLock

        self.paths.root.mkdir(parents=True, exist_ok=True, mode=0o755)
        with FileLock(str(self.paths.root / "engine.lock"), timeout=START_TIMEOUT_S * 2):
            yield

    def read_record(self) -> EngineRecord | None:
        try:
            data = json.loads(self.paths.record.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return None
        except (OSError, ValueError) as exc:
            raise EngineError(
                f"engine record {self.paths.record} is unreadable ({exc}); stop any dockerd "
                f"using {self.paths.root} yourself, then delete the file"
            ) from None
        try:
            return EngineRecord.from_json(data)
        except ValueError as exc:
            raise EngineError(f"{self.paths.record}: {exc}; delete it after checking") from None

    def _write(self, rec: EngineRecord) -> None:
        tmp = self.paths.record.with_suffix(f".{os.getpid()}.tmp")
        tmp.write_text(json.dumps(rec.to_json(), indent=2), encoding="utf-8")
        os.replace(tmp, self.paths.record)

    def answers(self, timeout_s: float = 2.0) -> str | None:
        """None if dockerd answers GET /_ping on our socket, else why not."""
        return ping(self.paths.socket, timeout_s)

    # -- start -----------------------------------------------------------------------------
    def start(self, timeout_s: float = START_TIMEOUT_S) -> str:
        """Start (or find running) our dockerd; returns what happened. EngineError if not."""
        with self._locked():
            rec = self.read_record()
            if rec is not None:
                verdict, why = rec.verdict()
                if verdict is Verdict.SAME:
                    if poll(lambda: self.answers() is None, timeout_s):
                        return f"already running (pid {rec.pid}) at {self.paths.docker_host}"
                    raise EngineError(
                        f"our dockerd (pid {rec.pid}) runs but does not answer on "
                        f"{self.paths.socket}: {self.answers()}; {log_tail(self.paths.log)}. "
                        "Stop it: python -m tests.utils._services.engine stop"
                    )
                if verdict is Verdict.UNKNOWN:
                    raise EngineError(f"{why}; stop pid {rec.pid} yourself if it is our dockerd")
                if rec.state == "starting" and member_alive(rec.starter):
                    raise EngineError(f"another process ({rec.starter}) is starting the engine")
                self._cleanup(f"stale record ({why})")
            strangers = self._processes()
            if strangers:
                raise EngineError(
                    f"processes not recorded by us use {self.paths.root}: "
                    f"{', '.join(map(str, strangers))}; stop them, then start again"
                )
            dockerd = ensure_installed(self._say)
            for path in (self.paths.data_root, self.paths.exec_root):
                path.mkdir(parents=True, exist_ok=True, mode=0o711)
            # Our own (empty) config: never the host's /etc/docker/daemon.json.
            self.paths.config.write_text("{}\n", encoding="utf-8")
            cmd = [
                dockerd,
                "--config-file",
                str(self.paths.config),
                "--data-root",
                str(self.paths.data_root),
                "--exec-root",
                str(self.paths.exec_root),
                "-H",
                self.paths.docker_host,
                "--pidfile",
                str(self.paths.pidfile),
                "--storage-driver=overlay2",
                "--iptables=false",
                "--ip-forward=false",
                "--ip-masq=false",
                f"--shutdown-timeout={SHUTDOWN_TIMEOUT_S}",
                "--log-level=warn",
            ]
            rec = EngineRecord("starting", new_member(), now_iso(), cmd)
            self._write(rec)  # before the spawn: a killed starter leaves a trace
            with open(self.paths.log, "ab") as log:
                try:
                    popen = subprocess.Popen(
                        cmd,
                        stdin=subprocess.DEVNULL,
                        stdout=log,
                        stderr=subprocess.STDOUT,
                        start_new_session=True,
                    )
                except OSError as exc:
                    self.paths.record.unlink(missing_ok=True)
                    raise EngineError(f"cannot run {dockerd}: {exc}") from None
            rec.pid, rec.identity = popen.pid, identify(popen.pid)
            self._write(rec)
            self._say(f"dockerd pid {popen.pid} starting at {self.paths.docker_host}")

            def up() -> bool:
                return popen.poll() is not None or self.answers(0.5) is None

            poll(up, timeout_s)
            if popen.poll() is not None or self.answers() is not None:
                why = (
                    f"exited with code {popen.returncode}"
                    if popen.poll() is not None
                    else f"no answer within {timeout_s:.0f}s ({self.answers()})"
                )
                self._stop_locked()
                raise EngineError(f"dockerd {why}; {log_tail(self.paths.log)}")
            rec.state = "running"
            self._write(rec)
            return f"started (pid {popen.pid}) at {self.paths.docker_host}"

    # -- stop ------------------------------------------------------------------------------
    def stop(self, timeout_s: float = STOP_TIMEOUT_S) -> str:
        with self._locked():
            return self._stop_locked(timeout_s)

    def _stop_locked(self, timeout_s: float = STOP_TIMEOUT_S) -> str:
        rec = self.read_record()
        outcome = "not running"
        if rec is not None:
            verdict, why = rec.verdict()
            if verdict is Verdict.UNKNOWN:
                raise EngineError(f"refusing to signal: {why}; stop pid {rec.pid} yourself")
            if verdict is Verdict.SAME:
                assert rec.pid is not None
                outcome = _terminate(rec.pid, rec.identity, timeout_s)
            else:
                outcome = f"already gone ({why})"
        self._cleanup(outcome)
        return outcome

    def _processes(self) -> list[int]:
        """PIDs naming our state directory on their command line (dockerd, its containerd,
        the container shims): ours by construction, since the path is unique to us."""
        return find_processes_using(str(self.paths.root))

    def _cleanup(self, why: str) -> None:
        """After dockerd is gone: its children, mounts, socket, pidfile and record."""
        leftovers = self._processes()
        for pid in leftovers:
            ident = identify(pid)
            if ident is not None:
                self._say(f"stopping leftover pid {pid} ({why})")
                _terminate(pid, ident, 10.0)
        for mount in _mounts_under(self.paths.root):
            subprocess.run(["umount", "-l", mount], capture_output=True, timeout=30)
        for path in (self.paths.socket, self.paths.pidfile, self.paths.record):
            path.unlink(missing_ok=True)

    def clean(self) -> list[str]:
        """Remove every container on our engine; what was there (CI: anything is a leak)."""
        import docker

        reason = self.answers()
        if reason is not None:
            raise EngineError(f"the engine does not answer ({reason})")
        client = docker.DockerClient(base_url=self.paths.docker_host, timeout=60)
        try:
            found = []
            for container in client.containers.list(all=True):
                labels = container.labels or {}
                found.append(
                    f"container {container.short_id} {container.name} ({container.status}, "
                    f"service {labels.get('org.kaizen.test.service', '?')}, run "
                    f"{labels.get('org.kaizen.test.run', '?')})"
                )
                container.remove(force=True, v=True)
            return found
        finally:
            client.close()

    def status(self) -> dict[str, Any]:
        rec = self.read_record()
        verdict, why = rec.verdict() if rec else (Verdict.GONE, "no record")
        return {
            "state_dir": str(self.paths.root),
            "docker_host": self.paths.docker_host,
            "pid": rec.pid if rec else None,
            "process": f"{verdict.value}: {why}",
            "answers": self.answers() or "yes",
        }


def _terminate(pid: int, ident: ProcessIdentity | None, timeout_s: float) -> str:
    """SIGTERM, then SIGKILL at the deadline, to exactly the identified process."""

    def gone() -> bool:
        with suppress(ChildProcessError):
            os.waitpid(pid, os.WNOHANG)
        return verify(ident, pid)[0] is Verdict.GONE

    try:
        os.kill(pid, signal.SIGTERM)
    except ProcessLookupError:
        return "already gone"
    if poll(gone, timeout_s):
        return f"stopped pid {pid} (SIGTERM)"
    with suppress(ProcessLookupError):
        os.kill(pid, signal.SIGKILL)
    if poll(gone, 10.0):
        return f"killed pid {pid} (SIGKILL after {timeout_s:g}s)"
    raise EngineError(f"pid {pid} still runs 10 s after SIGKILL")


def _mounts_under(root: Path) -> list[str]:
    """Mount points below `root` (overlay layers, netns), deepest first."""
    prefix = str(root.resolve()) + os.sep
    try:
        lines = Path("/proc/self/mounts").read_text(encoding="utf-8").splitlines()
    except OSError:
        return []
    points = [line.split()[1].replace("\\040", " ") for line in lines if len(line.split()) > 1]
    return sorted((p for p in points if p.startswith(prefix)), key=len, reverse=True)


def ping(sock: Path, timeout_s: float = 2.0) -> str | None:
    """GET /_ping over a unix socket, without the SDK (cheap enough for a poll)."""
    try:
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as client:
            client.settimeout(timeout_s)
            client.connect(str(sock))
            client.sendall(b"GET /_ping HTTP/1.0\r\nHost: docker\r\n\r\n")
            answer = b""
            while chunk := client.recv(4096):
                answer += chunk
    except FileNotFoundError:
        return f"no socket at {sock}"
    except OSError as exc:
        return f"{sock}: {exc.strerror or exc}"
    head = answer.split(b"\r\n", 1)[0].decode("latin-1")
    return None if " 200 " in f"{head} " else f"answered {head!r}"


def log_tail(path: Path, lines: int = 5) -> str:
    try:
        text = path.read_text(encoding="utf-8", errors="replace").strip().splitlines()
    except OSError:
        return f"no log at {path}"
    return f"log {path}: " + " | ".join(line.strip() for line in text[-lines:])


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m tests.utils._services.engine",
        description="The toolkit's own Docker engine and the services' local images.",
    )
    parser.add_argument("command", choices=("start", "stop", "status", "build", "env", "clean"))
    parser.add_argument("services", nargs="*", help="build: which images (default: all)")
    parser.add_argument("--state-dir", type=Path, default=None, help=f"default: ${STATE_ENV}")
    args = parser.parse_args(argv)
    engine = Engine(args.state_dir, progress=lambda text: print(text, file=sys.stderr))
    try:
        if args.command == "start":
            print(engine.start(), file=sys.stderr)
        elif args.command == "stop":
            print(engine.stop(), file=sys.stderr)
        elif args.command == "status":
            print(json.dumps(engine.status(), indent=2))
        elif args.command == "env":
            from .imagebuild import LOCAL_IMAGES

            print(f"export DOCKER_HOST={engine.paths.docker_host}")
            for key, tag in LOCAL_IMAGES.items():
                print(f"export {key}={tag}")
        elif args.command == "clean":
            left = engine.clean()
            for line in left:
                print(f"left behind: {line}", file=sys.stderr)
            return 1 if left else 0
        else:
            from .imagebuild import build_all

            for line in build_all(engine, args.services or None):
                print(line, file=sys.stderr)
    except EngineError as exc:
        print(f"engine {args.command} failed: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
