"""The ladder (running -> docker -> local) and the stack lifecycle shared by pytest and CLI.

Why one Stack object per process: pytest fixtures, `ensure_docker_services()` and the CLI
must agree on who started what, so that the last user stops exactly what its run started
and nothing else.
"""

from __future__ import annotations

import atexit
import os
import signal
import threading
import uuid
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from . import catalog, docker_backend, rungs
from . import local as local_backend
from .errors import (
    ImageUnavailableError,
    PortOccupiedError,
    ServiceDiedError,
    ServiceError,
    ServiceUnavailableError,
)
from .health import HealthReport, check, tcp_probe, wait_healthy
from .identity import Verdict
from .private import PRIVATE_DIR, make_private_state_dir, reap_private_stacks
from .registry import (
    ProcessRecord,
    Registry,
    member_alive,
    new_member,
    record_key,
    remove_data_dir,
)
from .settings import SERVICE_NAMES, ServiceSettings, Settings, load_settings, settings_hash

__all__ = [  # the errors live in errors.py; these names have always been imported from here
    "ImageUnavailableError",
    "PortOccupiedError",
    "ServiceDiedError",
    "ServiceError",
    "ServiceStatus",
    "ServiceUnavailableError",
    "Stack",
    "make_private_state_dir",
    "reap_private_stacks",
]


@dataclass
class ServiceStatus:
    """What a fixture hands a test: where the service is and how it was obtained."""

    service: str
    healthy: bool
    backend: str | None
    endpoint: str
    host: str
    port: int
    version: str | None = None
    started_at: str | None = None
    start_ms: float | None = None
    latency_ms: float | None = None
    reason: str | None = None
    pid: int | None = None
    container_id: str | None = None
    settings: ServiceSettings | None = field(default=None, repr=False)

    @property
    def url(self) -> str:
        assert self.settings is not None
        return catalog.get(self.service).url(self.settings)


def _validate(names: Iterable[str]) -> list[str]:
    from .settings import UnknownServiceError

    out = []
    for name in names:
        if name not in SERVICE_NAMES:
            raise UnknownServiceError(name)
        if name not in out:
            out.append(name)
    return out


class Stack:
    """Brings services up through the ladder and tracks what this process uses."""

    def __init__(
        self,
        settings: Settings | None = None,
        owner_kind: str = "run",
        run_id: str | None = None,
        progress: Any = None,
    ) -> None:
        self.settings = settings or load_settings()
        self.registry = Registry(
            self.settings.state_dir, create=self.settings.state_dir.parent.name != PRIVATE_DIR
        )
        self.owner_kind = owner_kind
        self.run_id = run_id or f"proc-{os.getpid()}-{uuid.uuid4().hex[:8]}"
        self._joined: set[str] = set()
        self.member = new_member()
        self._attached: dict[str, ServiceStatus] = {}
        self._failed: dict[str, ServiceUnavailableError] = {}
        self._progress = progress
        self._released = False
        self._atexit_registered = False

    @property
    def server_kind(self) -> str:
        """The owner kind of the servers this stack starts: a run's are "reuse" (kept for
        the next run) under KAIZEN_TEST_REUSE / --reuse-services, else the stack's own."""
        if self.owner_kind == "run" and self.settings.reuse:
            return "reuse"
        return self.owner_kind

    # -- public --------------------------------------------------------------------------
    def ensure(self, names: Iterable[str]) -> dict[str, ServiceStatus]:
        """All `names` healthy, or ServiceUnavailableError for the first one that is not."""
        outcomes = self.ensure_outcomes(names)
        for outcome in outcomes.values():
            if isinstance(outcome, ServiceUnavailableError):
                raise outcome
        return outcomes  # type: ignore[return-value]

    def ensure_outcomes(
        self, names: Iterable[str]
    ) -> dict[str, ServiceStatus | ServiceUnavailableError]:
        """Per service: a healthy status or the error; each service is tried once per Stack."""
        wanted = _validate(names)
        todo = [n for n in wanted if n not in self._attached and n not in self._failed]
        if todo:
            if self.owner_kind == "run" and not self._atexit_registered:
                atexit.register(self.release)
                self._atexit_registered = True
            with self.registry.locked():
                self.reap()
                if self.owner_kind == "run":  # `up` (cli) servers outlive their process
                    self._join(self.run_id)
                with ThreadPoolExecutor(max_workers=len(todo)) as pool:
                    results = dict(zip(todo, pool.map(self._ensure_safely, todo), strict=True))
            for name, result in results.items():
                if isinstance(result, ServiceUnavailableError):
                    self._failed[name] = result
                else:
                    self._attached[name] = result
        return {n: self._attached.get(n) or self._failed[n] for n in wanted}

    def verify(self, name: str) -> ServiceStatus:
        """Cheap liveness check of an attached service; ServiceDiedError if it went away."""
        status = self._attached.get(name)
        if status is None:
            raise ServiceError(name, f"{name} was never brought up in this process")
        if status.pid is not None:
            rec = self.registry.records().get(record_key(name, status.endpoint))
            gone = rec is None or rec.pid != status.pid or rec.verdict()[0] is Verdict.GONE
            if gone:
                log = Path(rec.data_dir or "") / "server.log" if rec else None
                tail = local_backend.log_tail(log) if log else "no record left"
                raise ServiceDiedError(
                    name,
                    f"{name} ({status.backend}, pid {status.pid}) died during the run; {tail}",
                )
        if status.container_id is not None:
            rec = self.registry.records().get(record_key(name, status.endpoint))
            host = rec.docker_host if rec else None
            down = docker_backend.state_of(status.container_id, host)
            if down is not None:
                raise ServiceDiedError(
                    name,
                    f"{name} (docker, container {status.container_id[:12]}) died during the "
                    f"run: {down}",
                )
        refused = tcp_probe(status.host, status.port, timeout=0.5)
        if refused is not None:
            raise ServiceDiedError(
                name, f"{name} at {status.endpoint} ({status.backend}) stopped answering: {refused}"
            )
        return status

    def health(self, names: Iterable[str]) -> dict[str, HealthReport]:
        """Full usability checks, in parallel, labelled with the backend from the state file."""
        wanted = _validate(names)
        records = self.registry.records() if self.registry.state_file.exists() else {}

        def one(name: str) -> HealthReport:
            s = self.settings[name]
            rec = records.get(record_key(name, s.endpoint))
            backend = rec.backend if rec else None
            report = check(s, backend)
            if report.healthy and backend is None:
                report.backend = "running"
            return report

        with ThreadPoolExecutor(max_workers=max(1, len(wanted))) as pool:
            return dict(zip(wanted, pool.map(one, wanted), strict=True))

    def status_rows(self, names: Iterable[str] | None = None) -> list[dict[str, Any]]:
        wanted = _validate(names or SERVICE_NAMES)
        records = self.registry.records() if self.registry.state_file.exists() else {}
        reports = self.health(wanted)
        rows = []
        for name in wanted:
            s = self.settings[name]
            rec = records.get(record_key(name, s.endpoint))
            rep = reports[name]
            rows.append(
                {
                    "service": name,
                    "backend": rep.backend or (rec.backend if rec else "-"),
                    "endpoint": s.endpoint,
                    "version": rep.version or (rec.version if rec else None) or "-",
                    "started": rec.started_at if rec else "-",
                    "pid": rec.pid if rec else None,
                    "container": rec.container_id if rec else None,
                    "id": _record_id(rec),
                    "health": ("healthy" if rep.healthy else f"unhealthy: {rep.reason}")
                    + _record_note(rec),
                    "latency_ms": rep.latency_ms,
                }
            )
        return rows

    def down(self, names: Iterable[str] | None = None) -> dict[str, str]:
        """Stop every recorded server of `names` (whoever started it); CLI `down`."""
        wanted = set(_validate(names or SERVICE_NAMES))
        with self.registry.locked():
            data = self.registry.read()
            recs = [r for r in self.registry.records(data).values() if r.service in wanted]
            outcome = self._stop(recs)
            outcome.update(self._remove_unrecorded_containers(wanted))
            return outcome

    def _remove_unrecorded_containers(self, wanted: set[str]) -> dict[str, str]:
        """Containers labelled with our state directory that no record names any more (a
        deleted state file): `down` removes them too. Only when Docker is a rung here."""
        if "docker" not in self.settings.backends or docker_backend.engine_status():
            return {}
        recorded = {r.container_id for r in self.registry.records().values()}
        outcome = {}
        mine = {docker_backend.L_STATE: str(self.settings.state_dir)}
        for container in docker_backend.labelled(mine):
            labels = container.labels or {}
            if container.id in recorded or labels.get(docker_backend.L_SERVICE) not in wanted:
                continue
            key = f"container {container.short_id} ({labels.get(docker_backend.L_SERVICE)})"
            outcome[key] = docker_backend.remove(container.id)
        return outcome

    def stop_all(self) -> dict[str, str]:
        """Stop every recorded server, the stack's own and hand-started ones (OwnRecord):
        what a private stack of a dead owner left behind."""
        with self.registry.locked():
            return self._stop(list(self.registry.records().values()))

    def stop_run(self, run_id: str) -> dict[str, str]:
        """Stop every recorded server that `run_id` started (an interrupted `up`)."""
        with self.registry.locked():
            recs = [r for r in self.registry.records().values() if r.run_id == run_id]
            return self._stop(recs)

    def release(self) -> dict[str, str]:
        """Leave this run; if no user of a run remains, stop what that run started."""
        if self._released or not self._joined:
            self._released = True
            return {}
        self._released = True
        outcome: dict[str, str] = {}
        if not self.registry.can_lock():
            return outcome  # a private directory already torn down: it was stopped with it
        with self.registry.locked():
            for run_id in sorted(self._joined):
                if self.registry.leave(run_id, self.member):
                    continue
                recs = [
                    r
                    for r in self.registry.records().values()
                    if r.owner_kind == "run" and r.run_id == run_id
                ]
                outcome.update(self._stop(recs))
        return outcome

    def reap(self) -> dict[str, str]:
        """Forget servers that are provably gone; stop servers whose run has no live user.

        A record whose PID cannot be proven to be ours is left exactly as it is (process,
        record and data directory), with the reason in the outcome: never a guess.
        """
        with self.registry.locked():
            data = self.registry.read()
            dead, orphans, outcome = [], [], {}
            for rec in self.registry.records(data).values():
                if rec.state == "starting":
                    if rec.starter is not None and member_alive(rec.starter):
                        continue  # being started by a live process right now
                    outcome[rec.key] = "reaped: " + self._abandoned_start(rec)
                    continue
                if rec.backend == "local":
                    verdict, why = rec.verdict()
                    if verdict is Verdict.GONE:
                        dead.append(rec)
                        continue
                    if verdict is Verdict.UNKNOWN:
                        outcome[rec.key] = f"left alone: {why}"
                        continue
                if rec.backend == "docker":
                    down = (
                        docker_backend.state_of(rec.container_id, rec.docker_host)
                        if rec.container_id
                        else "no container recorded"
                    )
                    if down is not None and not down.startswith("no engine answered"):
                        outcome[rec.key] = f"reaped: {down}; " + self._stop([rec]).get(
                            rec.key, "record removed"
                        )
                        continue
                if rec.owner_kind == "run" and not self.registry.live_users(data, rec.run_id):
                    orphans.append(rec)
            data = self.registry.read()
            for run_id in list(data["runs"]):
                if not self.registry.live_users(data, run_id):
                    data["runs"].pop(run_id)
            self.registry.write(data)
            outcome.update({r.key: "record of a dead server removed" for r in dead})
            for rec in dead:
                self.registry.remove(rec.key)
                remove_data_dir(rec.data_dir, self.settings.state_dir)
            outcome.update({k: f"reaped: {v}" for k, v in self._stop(orphans).items()})
            outcome.update(self._reap_orphaned_containers())
            if self.settings.state_dir.parent.name != PRIVATE_DIR:
                outcome.update(reap_private_stacks(self.settings))
            return outcome

    def _reap_orphaned_containers(self) -> dict[str, str]:
        """Containers of runs that are provably over, whichever state file recorded them
        (a crashed run, a deleted state directory): found by their labels, removed."""
        if "docker" not in self.settings.backends or docker_backend.engine_status():
            return {}
        outcome = {}
        recorded = {r.container_id: r for r in self.registry.records().values()}
        for container in docker_backend.labelled({docker_backend.L_KIND: "run"}):
            why = docker_backend.owner_gone(container.labels or {})
            if why is None:
                continue
            rec = recorded.get(container.id)
            if rec is not None:
                continue  # recorded here: the record's run decides (above)
            service = (container.labels or {}).get(docker_backend.L_SERVICE)
            key = f"container {container.short_id} ({service})"
            outcome[key] = f"reaped ({why}): {docker_backend.remove(container.id)}"
        return outcome

    def _abandoned_start(self, rec: ProcessRecord) -> str:
        result = self._stop([rec]).get(rec.key, "record removed")
        return f"start abandoned by a dead starter; {result}"

    def install_signal_handlers(self) -> None:
        """SIGTERM becomes KeyboardInterrupt, so pytest unwinds and teardown stops servers."""
        if threading.current_thread() is not threading.main_thread():
            return
        if signal.getsignal(signal.SIGTERM) in (signal.SIG_DFL, None):

            def _on_term(signum: int, frame: object) -> None:
                raise KeyboardInterrupt(f"signal {signum}")

            signal.signal(signal.SIGTERM, _on_term)

    # -- internals -----------------------------------------------------------------------
    def _say(self, text: str) -> None:
        if self._progress is not None:
            self._progress(text)

    def _join(self, run_id: str) -> None:
        if run_id not in self._joined:
            self.registry.join(run_id, self.member)
            self._joined.add(run_id)
            self._released = False

    def _put(self, rec: ProcessRecord) -> None:
        self.registry.put(rec)  # the registry serialises this process's writers itself

    def _stop(self, recs: list[ProcessRecord]) -> dict[str, str]:
        if not recs:
            return {}

        def one(rec: ProcessRecord) -> tuple[str, str]:
            result, forget = rungs.for_record(rec).stop(self, rec)
            if not forget:
                return rec.key, result  # not provably stopped: the record stays
            self.registry.remove(rec.key)
            self._attached.pop(rec.service, None)
            return rec.key, result

        if len(recs) > 1:
            try:
                with ThreadPoolExecutor(max_workers=len(recs)) as pool:
                    return dict(pool.map(one, recs))
            except RuntimeError:  # at interpreter shutdown (atexit): no new threads
                pass
        return dict(one(rec) for rec in recs if self.registry.records().get(rec.key))

    def _status(
        self,
        s: ServiceSettings,
        report: HealthReport,
        rec: ProcessRecord | None,
    ) -> ServiceStatus:
        return ServiceStatus(
            service=s.name,
            healthy=report.healthy,
            backend=report.backend,
            endpoint=s.endpoint,
            host=s.host,
            port=s.port,
            version=report.version,
            started_at=rec.started_at if rec else None,
            start_ms=rec.start_ms if rec else None,
            latency_ms=report.latency_ms,
            reason=report.reason,
            pid=rec.pid if rec else None,
            container_id=rec.container_id if rec else None,
            settings=s,
        )

    def _ensure_safely(self, name: str) -> ServiceStatus | ServiceUnavailableError:
        """One service's ladder; an unexpected error fails that service, with its type."""
        try:
            return self._ensure_one(name)
        except Exception as exc:
            from .settings import redact

            s = self.settings[name]
            why = redact(f"unexpected {type(exc).__name__}: {exc}", s.password)
            return ServiceUnavailableError(name, s.endpoint, {"error": why})

    def _ensure_one(self, name: str) -> ServiceStatus | ServiceUnavailableError:
        s = self.settings[name]
        found: dict[str, str] = {}
        key = record_key(name, s.endpoint)
        rec = self.registry.records().get(key)
        if rec is not None:
            attached = self._attach_recorded(s, rec, found)
            if attached is not None:
                return attached
        elif self.settings.reuse and "docker" in self.settings.backends:
            adopted = rungs.DockerRung().adopt(self, s)
            if adopted is not None:
                return adopted

        tried = rungs.Attempt(dict(found))
        for rung in rungs.LADDER:
            if rung.name != "running" and rung.name not in self.settings.backends:
                tried.rungs[rung.name] = "disabled by KAIZEN_TEST_BACKENDS"
                continue  # the running rung always looks: it names whoever holds the port
            outcome = rung.attempt(self, s, tried)
            if outcome is not None:
                return outcome
        if tried.image_missing is not None:
            return ImageUnavailableError(name, s.endpoint, tried.rungs, tried.image_missing.image)
        return ServiceUnavailableError(name, s.endpoint, tried.rungs)

    def _want_hash(self, s: ServiceSettings, backend: str) -> str | None:
        """The digest a server of `backend` started now would carry (None: cannot tell)."""
        if backend == "docker":
            try:
                return docker_backend.spec_for(s).digest()
            except docker_backend.DockerStartError:
                return None
        return settings_hash(s)

    def _attach_recorded(
        self, s: ServiceSettings, rec: ProcessRecord, rungs: dict[str, str]
    ) -> ServiceStatus | ServiceUnavailableError | None:
        """Re-attach to the server our state file records at the endpoint, when it is the
        one these settings want; None to go on down the ladder (it was stopped)."""
        name = s.name
        if rec.backend not in self.settings.backends and "running" not in self.settings.backends:
            return PortOccupiedError(
                name,
                s.endpoint,
                {
                    "recorded": f"{s.endpoint} is held by the toolkit's {rec.backend} server "
                    f"({_record_id(rec)}, run {rec.run_id}), and KAIZEN_TEST_BACKENDS="
                    f"{','.join(self.settings.backends)} excludes {rec.backend}: stop it "
                    "(make services-down) or point KAIZEN_TEST_* at other ports",
                },
            )
        want = self._want_hash(s, rec.backend)
        if want and rec.settings_hash and rec.settings_hash != want:
            users = self.registry.live_users(self.registry.read(), rec.run_id)
            if rec.owner_kind == "run" and [u for u in users if u != self.member]:
                return PortOccupiedError(
                    name,
                    s.endpoint,
                    {
                        "recorded": f"{s.endpoint} is held by the toolkit's {rec.backend} "
                        f"server of live run {rec.run_id}, started with other settings; "
                        "wait for that run or point KAIZEN_TEST_* at other ports",
                    },
                )
            rungs["recorded"] = f"{rec.backend} server ({_record_id(rec)}) has other settings"
            self._say(f"{name}: settings changed, replacing the {rec.backend} server")
            self._stop([rec])
            return None
        if rec.backend == "docker" and rec.container_id:
            down = docker_backend.state_of(rec.container_id, rec.docker_host)
            if down is None and rec.owner_kind == "reuse":
                down = docker_backend.image_changed(rec.container_id, s.image, rec.docker_host)
            if down is not None:
                rungs["recorded"] = f"docker container {rec.container_id[:12]}: {down}"
                self._stop([rec])
                return None
        if rec.owner_kind == "run" and self.owner_kind == "run":
            self._join(rec.run_id)
        report = wait_healthy(s, 5.0, backend=rec.backend)
        if report.healthy:
            self._say(f"{name}: re-attached to {rec.backend} server at {s.endpoint}")
            return self._status(s, report, rec)
        rungs["recorded"] = f"{rec.backend} server ({_record_id(rec)}) unhealthy: {report.reason}"
        self._stop([rec])
        return None


def _record_id(rec: ProcessRecord | None) -> str:
    """What `status` shows in its id column: the server's PID or its container."""
    return "-" if rec is None else rungs.for_record(rec).describe(rec)


def _record_note(rec: ProcessRecord | None) -> str:
    """What `status` adds about a record whose server is not provably the one recorded."""
    return "" if rec is None else rungs.for_record(rec).note(rec)


_DEFAULT: Stack | None = None
_PREVIOUS: list[Stack | None] = []
_DEFAULT_LOCK = threading.Lock()


def default_stack() -> Stack:
    """The per-process stack used by fixtures and ensure_docker_services()."""
    global _DEFAULT
    with _DEFAULT_LOCK:
        if _DEFAULT is None:
            _DEFAULT = Stack()
        return _DEFAULT


def push_default_stack(stack: Stack) -> None:
    """Make `stack` the default; pop_default_stack restores the previous one (nested runs)."""
    global _DEFAULT
    with _DEFAULT_LOCK:
        _PREVIOUS.append(_DEFAULT)
        _DEFAULT = stack


def pop_default_stack() -> None:
    global _DEFAULT
    with _DEFAULT_LOCK:
        _DEFAULT = _PREVIOUS.pop() if _PREVIOUS else None
