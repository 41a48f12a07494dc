"""The ladder's rungs: running -> docker -> local, each an object with one interface.

Why objects: pytest-postgresql's executor / noop-executor pair has one interface for "we
start the server" and "it is already running"; ours has three, and the stack only iterates
them. A rung `attempt`s a service (a healthy `ServiceStatus`, a final error, or None with
its reason written into the attempt), and for the records of its backend it says whether
the server is still there (`down`), how to name it (`describe`) and how to `stop` it.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING

from . import catalog, docker_backend
from . import local as local_backend
from .errors import PortOccupiedError, ServiceUnavailableError
from .health import check, wait_healthy
from .identity import Verdict, identify
from .ports import find_port_holder
from .registry import (
    ProcessRecord,
    UnverifiedProcessError,
    find_processes_using,
    monotonic_ms,
    now_iso,
    remove_data_dir,
    stop_process,
)
from .settings import ServiceSettings, settings_hash

if TYPE_CHECKING:
    from .stack import ServiceStatus, Stack


@dataclass
class Attempt:
    """One service's way down the ladder: what each rung found, in order."""

    rungs: dict[str, str] = field(default_factory=dict)
    #: the Docker rung's image was missing (the final error says so, if nothing else worked)
    image_missing: docker_backend.ImageMissingError | None = None


class Rung:
    """What every rung does; `name` is its KAIZEN_TEST_BACKENDS word and record backend."""

    name = ""

    def attempt(
        self, stack: Stack, s: ServiceSettings, tried: Attempt
    ) -> ServiceStatus | ServiceUnavailableError | None:
        raise NotImplementedError

    def down(self, rec: ProcessRecord) -> str | None:
        """None while the recorded server runs, else why it is provably not there."""
        return None

    def describe(self, rec: ProcessRecord) -> str:
        """The id column of `status`."""
        return "-"

    def note(self, rec: ProcessRecord) -> str:
        """What `status` adds about a record whose server is not provably the recorded one."""
        return ""

    def stop(self, stack: Stack, rec: ProcessRecord) -> tuple[str, bool]:
        """Stop the recorded server: (what happened, whether the record may be dropped)."""
        return "nothing to stop", True


class RunningRung(Rung):
    """A healthy server already at the endpoint, used as is and never stopped (the noop
    executor). It also names whoever holds the port when that is not a usable server."""

    name = "running"

    def attempt(
        self, stack: Stack, s: ServiceSettings, tried: Attempt
    ) -> ServiceStatus | ServiceUnavailableError | None:
        name = s.name
        first = check(s, "running")
        if "running" in stack.settings.backends and first.healthy:
            stack._say(f"{name}: using the server already running at {s.endpoint}")
            return stack._status(s, first, None)
        tried.rungs["endpoint " + s.endpoint] = first.reason or "healthy but rung disabled"
        if first.reason == "connection refused":
            return None
        holder = find_port_holder(s.port, s.host)
        if holder is None:
            return None
        who = docker_backend.describe_holder(s.port, holder)
        what = (
            f"a usable {name} the toolkit did not start, and KAIZEN_TEST_BACKENDS="
            f"{','.join(stack.settings.backends)} excludes using it"
            if first.healthy
            else f"not a usable {name}"
        )
        return PortOccupiedError(
            name,
            s.endpoint,
            {
                **tried.rungs,
                "port": f"{s.endpoint} is held by {who}, which is {what}; stop it "
                "or point KAIZEN_TEST_* at another port",
            },
        )


class DockerRung(Rung):
    """A labelled container from the service's spec, healthy by the same check as every
    rung, on the engine DOCKER_HOST names (see docker_backend)."""

    name = "docker"

    def attempt(
        self, stack: Stack, s: ServiceSettings, tried: Attempt
    ) -> ServiceStatus | ServiceUnavailableError | None:
        why = docker_backend.engine_status()
        if why is None:
            result = self._start(stack, s)
            if not isinstance(result, (str, docker_backend.ImageMissingError)):
                return result
            if isinstance(result, docker_backend.ImageMissingError):
                tried.image_missing, why = result, str(result)
            else:
                why = result
        tried.rungs["docker"] = why
        return None

    def adopt(self, stack: Stack, s: ServiceSettings) -> ServiceStatus | None:
        """Reuse: a running container kept by an earlier run (recorded in another state
        file, or in one since deleted) whose spec digest and image match these settings."""
        if docker_backend.engine_status() is not None:
            return None
        try:
            spec = docker_backend.spec_for(s)
        except docker_backend.DockerStartError:
            return None
        found = docker_backend.reusable_container(spec)
        if found is None:
            return None
        report = wait_healthy(s, 5.0, backend="docker")
        if not report.healthy:
            return None  # the ladder goes on: the port check names it
        rec = ProcessRecord(
            service=s.name,
            endpoint=s.endpoint,
            backend="docker",
            pid=None,
            owner_kind="reuse",
            run_id=(found.labels or {}).get(docker_backend.L_RUN, stack.run_id),
            started_at=now_iso(),
            start_ms=0.0,
            version=report.version,
            container_id=str(found.id),
            docker_host=docker_backend.docker_host(),
            settings_hash=spec.digest(),
        )
        stack._put(rec)
        stack._say(f"{s.name}: re-attached to reused container {found.short_id}")
        return stack._status(s, report, rec)

    def _start(
        self, stack: Stack, s: ServiceSettings
    ) -> ServiceStatus | docker_backend.ImageMissingError | str:
        name = s.name
        try:
            spec = docker_backend.spec_for(s)
        except docker_backend.DockerStartError as exc:
            return str(exc)
        labels = docker_backend.labels_for(
            spec,
            run_id=stack.run_id,
            member=stack.member,
            owner_kind=stack.server_kind,
            state_dir=stack.settings.state_dir,
        )
        started_at = time.perf_counter()
        rec = ProcessRecord(
            service=name,
            endpoint=s.endpoint,
            backend="docker",
            pid=None,
            owner_kind=stack.server_kind,
            run_id=stack.run_id,
            started_at=now_iso(),
            start_ms=0.0,
            state="starting",
            starter=stack.member,
            docker_host=docker_backend.docker_host(),
            settings_hash=spec.digest(),
        )
        stack._put(rec)  # before the container exists: a killed starter leaves a trace

        def created(container_id: str) -> None:
            rec.container_id = container_id
            stack._put(rec)

        stack._say(f"{name}: starting a container of {spec.image} on {s.endpoint}")
        try:
            started = docker_backend.start(
                spec, labels, pull=stack.settings.docker_pull, on_created=created
            )
        except docker_backend.ImageMissingError as exc:
            stack.registry.remove(rec.key)
            return exc
        except (docker_backend.DockerStartError, docker_backend.DockerUnavailable) as exc:
            stack._stop([rec])
            return str(exc)
        service = catalog.get(name)
        timeout = service.start_timeout(stack.settings)
        problem = service.after_container_start(s, stack.settings, timeout)
        if problem is not None:
            stack._stop([rec])
            return problem
        report = wait_healthy(s, timeout, backend="docker", alive=started.exited)
        if not report.healthy:
            stack._stop([rec])
            return f"container {started.id[:12]} started but not healthy: {report.reason}"
        rec.start_ms = monotonic_ms(started_at)
        rec.version = report.version
        rec.state, rec.starter = "running", None
        stack._put(rec)
        stack._say(
            f"{name}: healthy in {rec.start_ms:.0f} ms, {report.version} ({started.id[:12]})"
        )
        return stack._status(s, report, rec)

    def down(self, rec: ProcessRecord) -> str | None:
        if not rec.container_id:
            return "no container recorded"
        return docker_backend.state_of(rec.container_id, rec.docker_host)

    def describe(self, rec: ProcessRecord) -> str:
        return f"container {rec.container_id[:12]}" if rec.container_id else "container ?"

    def note(self, rec: ProcessRecord) -> str:
        if not rec.container_id:
            return ""
        down = docker_backend.state_of(rec.container_id, rec.docker_host)
        if down is not None and not down.startswith("no engine answered"):
            return f" ({down}; the next run or `down` removes it)"
        return ""

    def stop(self, stack: Stack, rec: ProcessRecord) -> tuple[str, bool]:
        stack._say(f"removing {rec.service} container {(rec.container_id or '?')[:12]}")
        labels = None
        if not rec.container_id:  # a start recorded before its container existed
            labels = {
                docker_backend.L_RUN: rec.run_id,
                docker_backend.L_SERVICE: rec.service,
                docker_backend.L_ENDPOINT: rec.endpoint,
            }
        result = docker_backend.remove(rec.container_id, labels, rec.docker_host)
        return result, not result.startswith("left alone")  # no engine answer: kept


class LocalRung(Rung):
    """A real server as a child process (the service's `start_local`), recorded before it
    is spawned and stopped by its verified PID (see local, registry)."""

    name = "local"

    def attempt(
        self, stack: Stack, s: ServiceSettings, tried: Attempt
    ) -> ServiceStatus | ServiceUnavailableError | None:
        name = s.name
        rungs = tried.rungs
        timeout = catalog.get(name).start_timeout(stack.settings)
        base = stack.settings.state_dir / "data" / f"{name}-{s.port}"
        started_at = time.perf_counter()
        stack._say(f"{name}: starting a local server on {s.endpoint}")
        rec = ProcessRecord(
            service=name,
            endpoint=s.endpoint,
            backend="local",
            pid=None,
            owner_kind=stack.server_kind,
            run_id=stack.run_id,
            started_at=now_iso(),
            start_ms=0.0,
            data_dir=str(base),
            state="starting",
            starter=stack.member,
            settings_hash=settings_hash(s),
        )
        stack._put(rec)  # before the spawn: a starter killed from here on leaves a trace

        def on_spawn(pid: int, command: list[str]) -> None:
            rec.pid, rec.identity, rec.command = pid, identify(pid), list(command)
            stack._put(rec)

        try:
            started = local_backend.start(s, base, timeout, on_spawn=on_spawn)
        except (local_backend.LocalUnavailable, local_backend.LocalStartError) as exc:
            rungs["local"] = str(exc)
            self._kill_partial(stack, base)  # unspawned: drops the "starting" record
            return None
        rec.stop_signal = started.stop_signal
        rec.command = started.command
        stack._put(rec)
        report = wait_healthy(s, timeout, backend="local", alive=started.exited)
        if not report.healthy:
            stack._stop([rec])
            rungs["local"] = f"started but not healthy: {report.reason}"
            return None
        rec.start_ms = monotonic_ms(started_at)
        rec.version = report.version
        rec.state, rec.starter = "running", None
        stack._put(rec)
        note = f" ({'; '.join(started.notes)})" if started.notes else ""
        stack._say(f"{name}: healthy in {rec.start_ms:.0f} ms, {report.version}{note}")
        return stack._status(s, report, rec)

    @staticmethod
    def _kill_partial(stack: Stack, base: Path) -> None:
        """A starter that failed half-way may have left its child: stop it by its record."""
        for rec in stack.registry.records().values():
            if rec.data_dir == str(base):
                stack._stop([rec])
        remove_data_dir(str(base), stack.settings.state_dir)

    def down(self, rec: ProcessRecord) -> str | None:
        verdict, why = rec.verdict()
        return why if verdict is Verdict.GONE else None

    def describe(self, rec: ProcessRecord) -> str:
        return f"pid {rec.pid}" if rec.pid else "pid ?"

    def note(self, rec: ProcessRecord) -> str:
        if rec.state == "starting":
            return f" (starting, by {rec.starter})"
        verdict, why = rec.verdict()
        if verdict is Verdict.GONE:
            return " (recorded server is gone; the next run or `down` drops the record)"
        if verdict is Verdict.UNKNOWN:
            return f" (left alone: {why}; stop pid {rec.pid} yourself if it is ours)"
        return ""

    def stop(self, stack: Stack, rec: ProcessRecord) -> tuple[str, bool]:
        stack._say(f"stopping {rec.service} (pid {rec.pid})")
        try:
            result = stop_process(rec)
            if rec.state == "starting" and rec.pid is None and rec.data_dir:
                result = _stop_unrecorded(rec) or result
        except UnverifiedProcessError as exc:
            return f"refused: {exc}", False  # record and data directory kept
        remove_data_dir(rec.data_dir, stack.settings.state_dir)
        return result, True


def _stop_unrecorded(rec: ProcessRecord) -> str | None:
    """A server spawned in the instant before its PID was recorded: found by the data
    directory (unique to our state directory) on its command line, then stopped."""
    outcomes = []
    for pid in find_processes_using(str(rec.data_dir)):
        ident = identify(pid)
        if ident is not None:
            found = replace(rec, pid=pid, identity=ident)
            outcomes.append(f"pid {pid} {stop_process(found)}")
    return "; ".join(outcomes) or None


#: the ladder, in order; a record's backend names its rung
LADDER: tuple[Rung, ...] = (RunningRung(), DockerRung(), LocalRung())
BY_BACKEND: dict[str, Rung] = {rung.name: rung for rung in LADDER}


def for_record(rec: ProcessRecord | None) -> Rung:
    """The rung that started a recorded server. Any other backend is a process record
    (hand-started servers, OwnRecord), so the local rung: it signals only a PID whose
    start identity it can prove."""
    if rec is None:
        return Rung()
    return BY_BACKEND.get(rec.backend, BY_BACKEND["local"])
