"""Service-stack targets (issue 3), medians on the local backend:

- cold start to healthy: each of PostgreSQL, Redis, MySQL, MongoDB < 1 s; all four < 3 s
- re-attach to a running stack (what `up` does when healthy): < 200 ms
- health check of a running service: < 50 ms; reporting a dead one: < 2 s
- per-test PostgreSQL database from the template: < 50 ms

Docker rung beside the local one (issue 11), all five services, in the same run:

- cold start per service, and all five together: < 10 s with local images
- re-attach to kept servers with reuse (KAIZEN_TEST_REUSE=1): < 0.5 s for all five
- teardown of a run's five servers: < 3 s

The Docker rows use DOCKER_HOST, or else the toolkit's own engine when it runs
(`python -m tests.utils._services.engine start`), with the local images of `engine build`
(or the KAIZEN_TEST_*_IMAGE already set); without an engine they are skipped with the reason.

Everything runs on free ports in a private state directory, so the run's shared stack and
the machine's own servers are never touched. Cold starts reuse the cached pristine data
directories (initdb / mariadb-install-db output); one warm-up round fills that cache.
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import Any

from tests.utils._services import isolation as iso
from tests.utils._services.health import check
from tests.utils._services.ports import free_port
from tests.utils._services.settings import REPO_ROOT, load_settings
from tests.utils._services.stack import Stack

DATABASES = ("postgresql", "redis", "mysql", "mongodb")
ROUNDS = int(os.environ.get("KAIZEN_BENCH_SERVICE_ROUNDS", "3"))
_PORT_KEYS = {
    "postgresql": "KAIZEN_TEST_POSTGRES_PORT",
    "redis": "KAIZEN_TEST_REDIS_PORT",
    "mysql": "KAIZEN_TEST_MYSQL_PORT",
    "mongodb": "KAIZEN_TEST_MONGODB_PORT",
}


def _state_dir() -> Path:
    path = Path(tempfile.gettempdir()) / f"kaizen-bench-services-{os.getuid()}"
    path.mkdir(mode=0o755, exist_ok=True)
    os.chmod(path, 0o755)
    return path


def _env(owner_ports: dict[str, int]) -> dict[str, str]:
    env = dict(os.environ)
    env.update({"KAIZEN_TEST_STATE_DIR": str(_state_dir()), "KAIZEN_TEST_BACKENDS": "local"})
    env.update({_PORT_KEYS[n]: str(p) for n, p in owner_ports.items()})
    return env


def _stack(ports: dict[str, int], owner_kind: str = "run") -> Stack:
    return Stack(settings=load_settings(_env(ports)), owner_kind=owner_kind)


def _row(name: str, samples: list[float], target: float | None, **extra: Any) -> dict[str, Any]:
    ordered = sorted(samples)
    p95 = ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]
    return {
        "name": name,
        "median_ms": round(statistics.median(ordered), 2),
        "p95_ms": round(p95, 2),
        "target_ms": target,
        "n": len(ordered),
        **extra,
    }


def _timed(fn: Callable[[], object]) -> float:
    started = time.perf_counter()
    fn()
    return (time.perf_counter() - started) * 1000


def _cold_starts() -> list[dict[str, Any]]:
    each: dict[str, list[float]] = {n: [] for n in DATABASES}
    totals: list[float] = []
    for round_no in range(ROUNDS + 1):  # round 0 warms the pristine data-dir cache
        for name in DATABASES:  # one at a time: the per-service figure without contention
            stack = _stack({name: free_port()})
            try:
                ms = _timed(partial(stack.ensure, [name]))
            finally:
                stack.release()
            if round_no:
                each[name].append(ms)
        stack = _stack({n: free_port() for n in DATABASES})
        try:
            ms = _timed(partial(stack.ensure, list(DATABASES)))
        finally:
            stack.release()
        if round_no:
            totals.append(ms)
    rows = [_row(f"services.cold_start.{n}", each[n], 1000.0) for n in DATABASES]
    rows.append(_row("services.cold_start.all_four_parallel", totals, 3000.0))
    return rows


def _running_stack_figures() -> list[dict[str, Any]]:
    ports = {n: free_port() for n in DATABASES}
    owner = _stack(ports, owner_kind="cli")
    owner.ensure(list(DATABASES))
    rows: list[dict[str, Any]] = []
    try:
        attach = []
        for _ in range(10):
            stack = _stack(ports)
            attach.append(_timed(partial(stack.ensure, list(DATABASES))))
            stack.release()
        rows.append(_row("services.reattach.in_process", attach, 200.0))
        env = _env(ports)
        cli = [
            _timed(
                lambda: subprocess.run(
                    [sys.executable, "-m", "tests.utils.docker_config", "up", *DATABASES],
                    cwd=REPO_ROOT,
                    env=env,
                    capture_output=True,
                    check=True,
                    timeout=120,
                )
            )
            for _ in range(3)
        ]
        rows.append(
            _row(
                "services.reattach.cli_up_process",
                cli,
                None,
                note="includes interpreter start and driver imports",
            )
        )
        for name in DATABASES:
            s = owner.settings[name]
            samples = []
            for _ in range(20):
                report = check(s)
                assert report.healthy, report.reason
                samples.append(report.latency_ms)
            rows.append(_row(f"services.health.running.{name}", samples, 50.0))
        pg = owner.settings["postgresql"]
        iso.pg_ensure_template(pg)
        creates = []
        for _ in range(20):
            name = iso.test_name()
            creates.append(_timed(partial(iso.pg_create_database, pg, name)))
            iso.pg_drop_database(pg, name)
        rows.append(_row("services.postgres.db_from_template.direct_clone", creates, None))
        pool = iso.PgDatabasePool(pg)
        acquired = []
        try:
            for _ in range(20):
                # in real use a test body (longer than one clone) runs between acquisitions
                assert pool.wait_full(), "pool did not refill"
                started = time.perf_counter()
                name = pool.acquire()
                acquired.append((time.perf_counter() - started) * 1000)
                pool.release(name)
        finally:
            pool.close()
        note = "postgres_test_db: clones made ahead by a pool (direct clone: row above)"
        rows.append(_row("services.postgres.db_from_template", acquired, 50.0, note=note))
    finally:
        owner.down()
    dead = load_settings({"KAIZEN_TEST_POSTGRES_PORT": str(free_port())})["postgresql"]
    samples = []
    for _ in range(10):
        report = check(dead)
        assert not report.healthy
        samples.append(report.latency_ms)
    rows.append(_row("services.health.dead.postgresql", samples, 2000.0))
    return rows


ALL = ("postgresql", "redis", "mysql", "mongodb", "ollama")
DOCKER_ROUNDS = int(os.environ.get("KAIZEN_BENCH_DOCKER_ROUNDS", "3"))
_ALL_PORT_KEYS = {**_PORT_KEYS, "ollama": "KAIZEN_TEST_OLLAMA_PORT"}


def _docker_env() -> tuple[dict[str, str], str | None]:
    """DOCKER_HOST and images for the Docker rows, or the reason they cannot run."""
    from tests.utils._services.engine import Engine
    from tests.utils._services.imagebuild import IMAGES

    env: dict[str, str] = {}
    if not os.environ.get("DOCKER_HOST"):
        engine = Engine(progress=lambda _text: None)
        if engine.answers() is not None:
            return env, "no DOCKER_HOST and the toolkit's engine is not running (engine start)"
        env["DOCKER_HOST"] = engine.paths.docker_host
    host = env.get("DOCKER_HOST") or os.environ["DOCKER_HOST"]
    import docker

    try:
        client = docker.DockerClient(base_url=host, timeout=30)
        client.ping()
    except Exception as exc:
        return env, f"no engine answers at {host}: {exc}"
    try:
        for image in IMAGES.values():
            chosen = os.environ.get(image.setting) or image.tag
            try:
                client.images.get(chosen)
            except docker.errors.ImageNotFound:
                return env, f"image {chosen} missing (python -m tests.utils._services.engine build)"
            env[image.setting] = chosen
    finally:
        client.close()
    return env, None


def _backend_stack(
    backend: str, ports: dict[str, int], extra: dict[str, str], reuse: bool = False
) -> Stack:
    env = dict(os.environ)
    env.update(extra)
    env.update(
        {
            "KAIZEN_TEST_STATE_DIR": str(_state_dir() / backend),
            "KAIZEN_TEST_BACKENDS": backend,
            "KAIZEN_TEST_DOCKER_PULL": "never",
            "KAIZEN_TEST_REUSE": "1" if reuse else "0",
        }
    )
    env.update({_ALL_PORT_KEYS[n]: str(p) for n, p in ports.items()})
    return Stack(settings=load_settings(env))


def _backend_rows(backend: str, extra: dict[str, str]) -> list[dict[str, Any]]:
    """Cold start (each service, all five), reuse re-attach and teardown on one backend."""
    each: dict[str, list[float]] = {n: [] for n in ALL}
    together: list[float] = []
    teardown: list[float] = []
    for round_no in range(DOCKER_ROUNDS + 1):  # round 0 warms caches (page cache, pristine)
        for name in ALL:
            stack = _backend_stack(backend, {name: free_port()}, extra)
            try:
                ms = _timed(partial(stack.ensure, [name]))
            finally:
                stack.release()
            if round_no:
                each[name].append(ms)
        stack = _backend_stack(backend, {n: free_port() for n in ALL}, extra)
        try:
            ms = _timed(partial(stack.ensure, list(ALL)))
        finally:
            gone = _timed(stack.release)
        if round_no:
            together.append(ms)
            teardown.append(gone)
    ports = {n: free_port() for n in ALL}
    keeper = _backend_stack(backend, ports, extra, reuse=True)
    reattach: list[float] = []
    try:
        keeper.ensure(list(ALL))
        keeper.release()  # kept: reuse
        for _ in range(10):
            stack = _backend_stack(backend, ports, extra, reuse=True)
            reattach.append(_timed(partial(stack.ensure, list(ALL))))
            stack.release()
    finally:
        _backend_stack(backend, ports, extra).down()
    prefix = f"services.{backend}"
    rows = [_row(f"{prefix}.cold_start.{n}", each[n], None, backend=backend) for n in ALL]
    rows.append(_row(f"{prefix}.cold_start.all_five", together, 10000.0, backend=backend))
    rows.append(_row(f"{prefix}.reattach.reuse_all_five", reattach, 500.0, backend=backend))
    rows.append(_row(f"{prefix}.teardown.all_five", teardown, 3000.0, backend=backend))
    return rows


def _skipped(name: str, reason: str) -> dict[str, Any]:
    return {
        "name": name,
        "median_ms": None,
        "p95_ms": None,
        "target_ms": None,
        "n": 0,
        "skipped": True,
        "reason": reason,
    }


def docker_beside_local() -> list[dict[str, Any]]:
    rows = _backend_rows("local", {})
    extra, reason = _docker_env()
    if reason is not None:
        return [*rows, _skipped("services.docker.*", reason)]
    # The SDK reads DOCKER_HOST from the process environment, as every docker client does.
    previous = os.environ.get("DOCKER_HOST")
    os.environ["DOCKER_HOST"] = extra.get("DOCKER_HOST") or os.environ["DOCKER_HOST"]
    try:
        return rows + _backend_rows("docker", extra)
    except Exception as exc:  # the local rows above still count; this one is a FAIL
        failed = _skipped("services.docker.*", "")
        failed["error"] = f"{type(exc).__name__}: {exc}"
        return [*rows, failed]
    finally:
        if previous is None:
            os.environ.pop("DOCKER_HOST", None)
        else:
            os.environ["DOCKER_HOST"] = previous


def run() -> list[dict[str, Any]]:
    return _cold_starts() + _running_stack_figures() + docker_beside_local()


if __name__ == "__main__":
    for row in run():
        print(row)
