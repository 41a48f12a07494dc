"""Docker backend: one container per service on the `docker` SDK, labelled with its owner.

Why the SDK and not a compose binary: compose v2 cannot be installed from our registries and
v1 has no `--wait`; the SDK talks to any engine DOCKER_HOST names (a laptop's Docker
Desktop, a CI runner's engine, a rootless one, the toolkit's own: engine.py). Health is not
the container's business: the stack checks it from the host with the same usability checks
as every other rung, so no image needs psql, mongosh or the ollama CLI inside it.

Why labels: a container outlives a crashed run, and the engine, not our state file, is what
a later run can always ask. Every container names its service, endpoint, owner run, owner
member (PID plus kernel start ticks: see registry.new_member), host and boot, and the
digest of its spec, so a later run removes the containers of dead owners (our answer to
testcontainers' Ryuk, which needs the Docker socket mounted into a privileged container)
and a reused container is re-attached only when its spec is unchanged.
"""

from __future__ import annotations

import hashlib
import io
import ipaddress
import json
import os
import socket
import tarfile
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tests.utils.errors import ToolkitError

from . import catalog
from .identity import boot_id
from .registry import member_alive
from .settings import REPO_ROOT, ServiceSettings, Settings

LABEL = "org.kaizen.test"
L_SERVICE = f"{LABEL}.service"
L_ENDPOINT = f"{LABEL}.endpoint"
L_RUN = f"{LABEL}.run"
L_OWNER = f"{LABEL}.owner"  # the run member: "<pid>:<start ticks>:<token>"
L_KIND = f"{LABEL}.owner-kind"  # run | cli | reuse
L_HOST = f"{LABEL}.host"
L_BOOT = f"{LABEL}.boot-id"
L_SPEC = f"{LABEL}.spec-hash"
L_STATE = f"{LABEL}.state-dir"
#: how long an engine call may take before the rung gives up on the engine
API_TIMEOUT_S = 30
DEFAULT_SOCKET = "/var/run/docker.sock"


class DockerUnavailable(ToolkitError):
    """This rung does not apply here (no engine answers, no SDK); the message says which."""


class DockerStartError(ToolkitError):
    """The rung applied but the container did not come up; the message says why."""


class ImageMissingError(DockerStartError):
    """The service's image is not on the engine and may not (or cannot) be pulled."""

    def __init__(self, service: str, image: str, policy: str, detail: str = "") -> None:
        from .imagebuild import IMAGES

        local = IMAGES.get(service)
        build = (
            f"build the local one (python -m tests.utils._services.engine build {service}, "
            f"then {local.setting}={local.tag})"
            if local
            else "build it"
        )
        how = (
            "pulling is disabled (KAIZEN_TEST_DOCKER_PULL=never, the default under CI)"
            if policy == "never"
            else f"pulling it failed ({detail})"
        )
        super().__init__(
            f"image {image} for {service} is not on the engine and {how}: `docker pull "
            f"{image}` where a registry is reachable, or {build}"
        )
        self.service = service
        self.image = image
        self.policy = policy


# -- container specs -----------------------------------------------------------------------
@dataclass(frozen=True)
class ContainerSpec:
    """What one service's container is: derived from the same settings as every rung."""

    service: str
    image: str
    container_port: int
    host: str
    host_port: int
    environment: Mapping[str, str] = field(default_factory=dict)
    command: tuple[str, ...] | None = None
    #: files put into the container before it starts: container path -> repo-relative source
    files: Mapping[str, str] = field(default_factory=dict)
    #: named volumes kept between containers: volume name -> container path
    volumes: Mapping[str, str] = field(default_factory=dict)

    def digest(self) -> str:
        """Changes whenever anything the container is made from changes (file contents too)."""
        data = {
            "service": self.service,
            "image": self.image,
            "port": [self.host, self.host_port, self.container_port],
            "environment": dict(sorted(self.environment.items())),
            "command": list(self.command) if self.command is not None else None,
            "files": {
                path: hashlib.sha256((REPO_ROOT / src).read_bytes()).hexdigest()
                for path, src in sorted(self.files.items())
            },
            "volumes": dict(sorted(self.volumes.items())),
        }
        return hashlib.sha256(json.dumps(data, sort_keys=True).encode()).hexdigest()[:16]

    @property
    def port_key(self) -> str:
        return f"{self.container_port}/tcp"


#: the only address the Docker rung publishes ports on (servers/traffic on loopback only)
PUBLISH_HOST = "127.0.0.1"


def image_of(s: ServiceSettings) -> str:
    """The service's image setting, after checking that it may publish on loopback."""
    try:
        loopback = s.host == "localhost" or ipaddress.ip_address(s.host).is_loopback
    except ValueError:
        loopback = False
    if not loopback or s.host == "::1":
        raise DockerStartError(
            f"configured host {s.host} is not 127.0.0.1/localhost; the Docker rung publishes "
            f"on {PUBLISH_HOST} only"
        )
    if not s.image:
        key = catalog.get(s.name).env_prefix + "IMAGE"
        raise DockerStartError(f"no image set for {s.name}: set {key}")
    return s.image


def spec_for(s: ServiceSettings) -> ContainerSpec:
    """The service's container, from its catalog module (`Service.container_spec`)."""
    return catalog.get(s.name).container_spec(s)


def __getattr__(name: str) -> Any:
    if name == "SPECS":  # service -> spec builder, as the agreement test reads it
        return {svc.name: svc.container_spec for svc in catalog.services()}
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


# -- the engine ----------------------------------------------------------------------------
def docker_host() -> str:
    return os.environ.get("DOCKER_HOST") or f"unix://{DEFAULT_SOCKET}"


_CLIENTS: dict[str, Any] = {}
_STATUS: dict[str, str | None] = {}
_CLIENT_LOCK = threading.Lock()


def _socket_missing(host: str) -> str | None:
    """Cheap pre-check (no SDK import, ~100 ms saved): a unix socket that does not exist."""
    if host.startswith("unix://"):
        path = host[len("unix://") :]
        if not Path(path).exists():
            hint = "" if os.environ.get("DOCKER_HOST") else " (set DOCKER_HOST)"
            return f"no engine: no socket at {path}{hint}"
    return None


def engine_status(host: str | None = None, refresh: bool = False) -> str | None:
    """None if an engine answers at `host` (default: DOCKER_HOST or the default socket),
    else the reason. Cached per host: one ping per process."""
    host = host or docker_host()
    with _CLIENT_LOCK:
        if not refresh and host in _STATUS:
            return _STATUS[host]
        reason = _socket_missing(host)
        if reason is None:
            try:
                import docker
            except ImportError:
                reason = "the docker SDK is not installed (pip install -e '.[test]')"
            else:
                try:
                    if host == docker_host():  # from_env: DOCKER_TLS_VERIFY, DOCKER_CERT_PATH
                        made = docker.from_env(timeout=API_TIMEOUT_S)
                    else:
                        made = docker.DockerClient(base_url=host, timeout=API_TIMEOUT_S)
                    made.ping()
                    _CLIENTS[host] = made
                except Exception as exc:  # the SDK raises several kinds for "no engine"
                    reason = f"no engine answered at {host} ({_first_line(exc)})"
        _STATUS[host] = reason
        return reason


def client(host: str | None = None) -> Any:
    """The SDK client for `host` (default DOCKER_HOST); DockerUnavailable if none answers."""
    host = host or docker_host()
    reason = engine_status(host)
    if reason is not None:
        raise DockerUnavailable(reason)
    return _CLIENTS[host]


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip() or type(exc).__name__
    return text.splitlines()[0][:300]


# -- labels --------------------------------------------------------------------------------
def this_host() -> str:
    return socket.gethostname()


def labels_for(
    spec: ContainerSpec, *, run_id: str, member: str, owner_kind: str, state_dir: Path
) -> dict[str, str]:
    return {
        L_SERVICE: spec.service,
        L_ENDPOINT: f"{spec.host}:{spec.host_port}",
        L_RUN: run_id,
        L_OWNER: member,
        L_KIND: owner_kind,
        L_HOST: this_host(),
        L_BOOT: boot_id() or "",
        L_SPEC: spec.digest(),
        L_STATE: str(state_dir),
    }


def owner_gone(labels: Mapping[str, str]) -> str | None:
    """Why the container's owner run is provably over, or None (alive, or not provable here).

    The run, not the member that started the container, owns it: under xdist the starter
    may finish before the run's other members. So a container is an orphan only when its
    starter is gone and no member of its run is alive in the state file it was recorded in.
    """
    from .registry import Registry, StateFileError

    if labels.get(L_HOST) != this_host():
        return None  # another machine's container on a shared engine: not ours to judge
    recorded_boot, current_boot = labels.get(L_BOOT), boot_id()
    if recorded_boot and current_boot and recorded_boot != current_boot:
        return "its owner ran before a reboot"
    owner, run, state = labels.get(L_OWNER, ""), labels.get(L_RUN, ""), labels.get(L_STATE)
    try:
        if member_alive(owner):
            return None
    except ValueError:
        return None  # not a member we wrote: never judged
    if state and run:
        registry = Registry(Path(state), create=False)
        try:
            if registry.state_file.exists() and registry.live_users(registry.read(), run):
                return None
        except (StateFileError, OSError):
            return None  # cannot read its run's members: not provable
    return f"its owner {owner} and every member of run {run} are gone"


# -- lifecycle -----------------------------------------------------------------------------
@dataclass
class StartedContainer:
    container: Any
    spec: ContainerSpec
    notes: list[str] = field(default_factory=list)

    @property
    def id(self) -> str:
        return str(self.container.id)

    def exited(self) -> str | None:
        """None while the container runs, else its state and the tail of its logs."""
        return container_down(self.container)


def container_down(container: Any) -> str | None:
    import docker

    try:
        container.reload()
    except docker.errors.NotFound:
        return f"container {container.short_id} was removed"
    except docker.errors.APIError as exc:
        return f"container {container.short_id}: {_first_line(exc)}"
    state = container.attrs.get("State", {})
    if state.get("Running"):
        return None
    return (
        f"container {container.short_id} {state.get('Status', '?')} (exit code "
        f"{state.get('ExitCode')}{', OOM-killed' if state.get('OOMKilled') else ''}); "
        f"{logs_tail(container)}"
    )


def logs_tail(container: Any, lines: int = 5) -> str:
    try:
        text = container.logs(tail=lines).decode("utf-8", "replace").strip()
    except Exception as exc:  # logs of a removed container: say so, never mask the cause
        return f"no logs ({_first_line(exc)})"
    joined = " | ".join(line.strip() for line in text.splitlines() if line.strip())
    return f"logs: {joined}" if joined else "logs are empty"


def ensure_image(c: Any, spec: ContainerSpec, policy: str) -> str:
    """The image id; pulls a missing image only under policy "missing"."""
    import docker

    try:
        return str(c.images.get(spec.image).id)
    except docker.errors.ImageNotFound:
        pass
    if policy == "never":
        raise ImageMissingError(spec.service, spec.image, policy)
    try:
        return str(c.images.pull(spec.image).id)
    except docker.errors.APIError as exc:
        raise ImageMissingError(spec.service, spec.image, policy, _first_line(exc)) from None


def _archive(spec: ContainerSpec) -> dict[str, bytes]:
    """One tar per target directory, holding the spec's files (mode 0755: init scripts)."""
    by_dir: dict[str, list[tuple[str, bytes]]] = {}
    for target, source in sorted(spec.files.items()):
        directory, name = target.rsplit("/", 1)
        by_dir.setdefault(directory, []).append((name, (REPO_ROOT / source).read_bytes()))
    out = {}
    for directory, members in by_dir.items():
        buf = io.BytesIO()
        with tarfile.open(fileobj=buf, mode="w") as tar:
            for name, data in members:
                info = tarfile.TarInfo(name)
                info.size, info.mode, info.mtime = len(data), 0o755, int(time.time())
                tar.addfile(info, io.BytesIO(data))
        out[directory] = buf.getvalue()
    return out


def start(
    spec: ContainerSpec,
    labels: Mapping[str, str],
    *,
    pull: str,
    on_created: Callable[[str], None] | None = None,
) -> StartedContainer:
    """Create, fill and start one container; DockerStartError (or ImageMissingError) if not.

    `on_created(id)` runs as soon as the container exists, before it starts, so the caller
    records it while a crash would otherwise leave it unrecorded (its labels still name it).
    """
    import docker

    c = client()
    image_id = ensure_image(c, spec, pull)
    name = f"kaizen-test-{spec.service}-{spec.host_port}-{os.urandom(3).hex()}"
    try:
        container = c.containers.create(
            spec.image,
            command=list(spec.command) if spec.command is not None else None,
            environment=dict(spec.environment),
            ports={spec.port_key: (spec.host, spec.host_port)},
            labels={**labels, f"{LABEL}.image-id": image_id},
            volumes={v: {"bind": path, "mode": "rw"} for v, path in spec.volumes.items()},
            name=name,
            detach=True,
        )
    except docker.errors.APIError as exc:
        raise DockerStartError(f"creating the container failed: {_first_line(exc)}") from None
    if on_created is not None:
        on_created(str(container.id))
    try:
        for directory, data in _archive(spec).items():
            container.put_archive(directory, data)
        container.start()
    except docker.errors.APIError as exc:
        text = _first_line(exc)
        if "address already in use" in text or "port is already allocated" in text:
            from .ports import find_port_holder

            holder = find_port_holder(spec.host_port, spec.host)
            who = describe_holder(spec.host_port, holder) if holder else "another process"
            text = f"{spec.host}:{spec.host_port} is held by {who} ({text})"
        raise DockerStartError(f"starting container {container.short_id} failed: {text}") from None
    return StartedContainer(container, spec, notes=[f"container {container.short_id}"])


def remove(
    container_id: str | None,
    labels: Mapping[str, str] | None = None,
    host: str | None = None,
) -> str:
    """Remove our container by id (or, when no id was recorded, by its labels): never any
    other. Returns what happened; "engine gone" when its unix socket no longer exists (a
    stopped engine took its containers with it)."""
    import docker

    try:
        c = client(host)
    except DockerUnavailable as exc:
        if str(exc).startswith("no engine: no socket"):
            return f"engine gone ({exc})"
        return f"left alone: {exc}"
    targets: list[Any] = []
    if container_id:
        try:
            targets = [c.containers.get(container_id)]
        except docker.errors.NotFound:
            return "container already gone"
    elif labels:
        filters = {"label": [f"{k}={v}" for k, v in labels.items()]}
        targets = c.containers.list(all=True, filters=filters)
        if not targets:
            return "no container was created"
    outcomes = []
    for container in targets:
        try:
            container.remove(force=True, v=True)
            outcomes.append(f"container {container.short_id} removed")
        except docker.errors.NotFound:
            outcomes.append(f"container {container.short_id} already gone")
        except docker.errors.APIError as exc:
            if "already in progress" in str(exc):
                outcomes.append(f"container {container.short_id} being removed")
            else:
                outcomes.append(f"container {container.short_id}: {_first_line(exc)}")
    return "; ".join(outcomes)


def labelled(filters: Mapping[str, str] | None = None) -> list[Any]:
    """Every container of the toolkit's (any state), optionally narrowed by label values."""
    wanted = [L_SERVICE] + [f"{k}={v}" for k, v in (filters or {}).items()]
    return list(client().containers.list(all=True, filters={"label": wanted}))


def container_on_port(port: int) -> Any | None:
    """The running container that publishes `port` on the host, if any."""
    try:
        c = client()
    except DockerUnavailable:
        return None
    for container in c.containers.list(filters={"publish": str(port)}):
        return container
    return None


def describe_holder(port: int, holder: Any) -> str:
    """A port holder, with the container behind docker-proxy when there is one."""
    if getattr(holder, "name", None) == "docker-proxy" or holder.pid is None:
        container = container_on_port(port)
        if container is not None:
            image = (container.attrs.get("Config") or {}).get("Image", "?")
            ours = " (the toolkit's)" if L_SERVICE in (container.labels or {}) else ""
            return f"container {container.name} ({container.short_id}, image {image}){ours}"
    return str(holder.describe())


def state_of(container_id: str, host: str | None = None) -> str | None:
    """None if the container runs, else why not (gone, exited with ..., engine gone)."""
    import docker

    try:
        container = client(host).containers.get(container_id)
    except docker.errors.NotFound:
        return f"container {container_id[:12]} is gone"
    except DockerUnavailable as exc:
        return str(exc)
    return container_down(container)


def image_changed(container_id: str, image: str | None, host: str | None = None) -> str | None:
    """Why a kept container no longer runs the image its tag names (rebuilt), or None."""
    import docker

    try:
        c = client(host)
        recorded = (c.containers.get(container_id).labels or {}).get(f"{LABEL}.image-id")
        current = c.images.get(image).id if image else None
    except (docker.errors.NotFound, DockerUnavailable) as exc:
        return f"cannot compare its image: {_first_line(exc)}"
    if recorded and current and recorded != current:
        return f"image {image} was rebuilt ({recorded[7:19]} -> {current[7:19]})"
    return None


def reusable_container(spec: ContainerSpec) -> Any | None:
    """A running container kept for reuse with exactly this spec (digest) and image."""
    matches = [
        c
        for c in labelled({L_KIND: "reuse", L_SPEC: spec.digest()})
        if c.status == "running" and (c.labels or {}).get(L_HOST) == this_host()
    ]
    for container in matches:
        if image_changed(str(container.id), spec.image) is None:
            return container
    return None


def ensure_model(s: ServiceSettings, settings: Settings, timeout_s: float) -> str | None:
    """An Ollama whose model is not listed pulls it through its API (a real `ollama serve`
    starts empty); None when listed or pulled, else why not. Obeys the pull policy."""
    import httpx

    from .health import model_listed

    base = f"http://{s.host}:{s.port}"
    deadline = time.monotonic() + timeout_s
    from .polling import poll

    def tags() -> list[str] | None:
        try:
            answer = httpx.get(f"{base}/api/tags", timeout=2.0)
            if answer.status_code == 200:
                return [m.get("name") or m.get("model") for m in answer.json().get("models", [])]
        except (httpx.HTTPError, ValueError):
            return None
        return None

    listed: list[list[str] | None] = [None]

    def answered() -> bool:
        listed[0] = tags()
        return listed[0] is not None

    if not poll(answered, timeout_s):
        return None  # not answering yet: the health wait reports it
    if model_listed(s.model or "", listed[0] or []):
        return None
    if settings.docker_pull == "never":
        return (
            f"model {s.model} is not in the image and pulling is disabled "
            "(KAIZEN_TEST_DOCKER_PULL=never); use an image that has it"
        )
    try:
        pulled = httpx.post(
            f"{base}/api/pull",
            json={"model": s.model, "stream": False},
            timeout=max(1.0, deadline - time.monotonic()),
        )
    except httpx.HTTPError as exc:
        return f"pulling model {s.model} failed: {_first_line(exc)}"
    if pulled.status_code != 200:
        return f"pulling model {s.model} answered HTTP {pulled.status_code}: {pulled.text[:200]}"
    return None
