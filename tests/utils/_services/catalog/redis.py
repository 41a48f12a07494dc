"""Redis, whole: settings prefix, URL, usability check (PING and INFO on one connection, no
retries), container spec and local starter. Its isolation is a claimed db index per test
process (isolation.redis_claim_db), not a database.
"""

from __future__ import annotations

from pathlib import Path

from ..docker_backend import PUBLISH_HOST, ContainerSpec, image_of
from ..health import Deadline, Unhealthy, driver, first_line
from ..local import LocalUnavailable, Started, spawn, which
from ..settings import ServiceSettings
from .base import Service


def url(s: ServiceSettings, db: int = 0) -> str:
    return f"redis://{s.host}:{s.port}/{db}"


def check(s: ServiceSettings, d: Deadline) -> str:
    redis = driver("redis", "redis")
    from redis.backoff import NoBackoff
    from redis.retry import Retry

    # One connection, no retries: each read waits only for what is left of the deadline
    # (the client's default retries made a hung listener ~26 s).
    conn = redis.Connection(
        host=s.host,
        port=s.port,
        socket_connect_timeout=d.left("connect"),
        socket_timeout=d.left("connect"),
        retry=Retry(NoBackoff(), 0),
    )
    step = "connect"
    try:
        conn.connect()
        step = "PING"
        conn.send_command("PING")
        if conn.read_response(timeout=d.left(step)) not in (b"PONG", "PONG", True):
            raise Unhealthy("PING did not answer PONG")
        step = "INFO server"
        conn.send_command("INFO", "server")
        info = conn.read_response(timeout=d.left(step))
        text = info.decode() if isinstance(info, bytes) else str(info)
        version = next(
            (
                ln.split(":", 1)[1].strip()
                for ln in text.splitlines()
                if ln.startswith("redis_version:")
            ),
            "?",
        )
        return f"Redis {version}"
    except redis.exceptions.TimeoutError:
        raise Unhealthy(d.expired(step)) from None
    except redis.RedisError as exc:
        raise Unhealthy(f"{step}: {first_line(exc)}") from None
    finally:
        conn.disconnect()


def container_spec(s: ServiceSettings) -> ContainerSpec:
    return ContainerSpec(
        "redis",
        image_of(s),
        6379,
        PUBLISH_HOST,
        s.port,
        command=("redis-server", "--save", "", "--appendonly", "no"),
    )


def start_local(s: ServiceSettings, base: Path, timeout_s: float) -> Started:
    server = which("redis-server", ["/usr/bin", "/usr/local/bin"])
    if server is None:
        raise LocalUnavailable("redis-server not on PATH (apt-get install redis-server)")
    cmd = [
        server,
        "--port",
        str(s.port),
        "--bind",
        s.host,
        "--save",
        "",
        "--appendonly",
        "no",
        "--daemonize",
        "no",
        "--dir",
        str(base),
        "--protected-mode",
        "no",
    ]
    popen, log = spawn(cmd, base)
    return Started(popen, base, cmd, log)


SERVICE = Service(
    name="redis",
    env_prefix="KAIZEN_TEST_REDIS_",
    fixture="redis_service",
    url=url,
    check=check,
    container_spec=container_spec,
    start_local=start_local,
)
