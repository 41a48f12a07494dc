"""Health means *usable*: each check does what a test would do, with a bounded timeout.

A check never raises for an unreachable or broken service: it returns an unhealthy
HealthReport whose reason says what failed, so callers can build precise skip reasons.
"""

from __future__ import annotations

import errno
import json
import socket
import time
import uuid
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from typing import Any

from .settings import ServiceSettings, mongodb_url, redact

#: The one bound of a health check: connect, first answer and the usability round trip
#: all share it, so a listener that accepts and never answers is unhealthy within it.
CHECK_DEADLINE_S = 2.0
#: Ollama only, and only after /api/tags answered within the deadline: a real `ollama serve`
#: loads the model on the first generation, which may legitimately take this long.
OLLAMA_GENERATE_TIMEOUT_S = 60.0
DRIVER_MISSING = "driver "


@dataclass
class HealthReport:
    """One health observation of one service."""

    service: str
    healthy: bool
    endpoint: str
    backend: str | None = None
    version: str | None = None
    latency_ms: float = 0.0
    reason: str | None = None
    checked_at: str = field(default_factory=lambda: datetime.now(UTC).isoformat())

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    def __str__(self) -> str:
        state = "healthy" if self.healthy else f"unhealthy: {self.reason}"
        return f"{self.service} at {self.endpoint} ({self.backend or '?'}): {state}"


class _Unhealthy(Exception):
    """Internal: a check step failed with a human-readable reason."""


class _Deadline:
    """The check's single deadline; every step's client timeout is what is left of it.

    Why: drivers retry (redis-py turned a 2 s socket timeout into ~26 s) and add their
    timeouts step by step; deriving each step's timeout from one end time bounds the sum.
    """

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self.end = time.monotonic() + seconds

    def left(self, step: str) -> float:
        """Seconds left for `step`; _Unhealthy once the deadline has passed."""
        remaining = self.end - time.monotonic()
        if remaining <= 0:
            raise _Unhealthy(self.expired(step))
        return remaining

    def expired(self, step: str) -> str:
        return f"{step}: no answer within the {self.seconds:.1f}s health-check deadline"


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip() or type(exc).__name__
    return text.splitlines()[0].strip()


def tcp_probe(host: str, port: int, timeout: float = 0.5) -> str | None:
    """None if something accepts TCP on host:port, else the reason (e.g. 'connection refused')."""
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return None
    except ConnectionRefusedError:
        return "connection refused"
    except TimeoutError:
        return f"TCP connect timed out after {timeout:.1f}s"
    except OSError as exc:
        if exc.errno == errno.ECONNREFUSED:
            return "connection refused"
        return _first_line(exc)


def _driver(module: str, package: str) -> Any:
    import importlib

    try:
        return importlib.import_module(module)
    except ImportError:
        raise _Unhealthy(
            f"{DRIVER_MISSING}{module!r} is not installed (pip install {package}, or "
            "pip install -e '.[test]')"
        ) from None


def _pg_wait(psycopg2: Any, conn: Any, d: _Deadline, step: str) -> None:
    """Drive an async psycopg2 connection until its operation is done, within the deadline.

    Why async: libpq's connect_timeout counts whole seconds (and at least 2), so a blocking
    connect cannot honour a deadline given in fractions of a second.
    """
    import select

    extensions = psycopg2.extensions
    while True:
        state = conn.poll()
        if state == extensions.POLL_OK:
            return
        wait_read = state == extensions.POLL_READ
        fd = conn.fileno()
        ready = select.select(
            [fd] if wait_read else [], [] if wait_read else [fd], [], d.left(step)
        )
        if not any(ready):
            raise _Unhealthy(d.expired(step))


def _check_postgresql(s: ServiceSettings, d: _Deadline) -> str:
    psycopg2 = _driver("psycopg2", "psycopg2-binary")
    step = f"connect as {s.user} to {s.database}"
    conn = None
    try:
        conn = psycopg2.connect(
            host=s.host,
            port=s.port,
            dbname=s.database,
            user=s.user,
            password=s.password,
            options=f"-c statement_timeout={max(1, int(d.left(step) * 1000))}",
            async_=True,
        )
        _pg_wait(psycopg2, conn, d, step)
        step = "SELECT 1"
        with conn.cursor() as cur:
            cur.execute("SELECT 1, current_setting('server_version')")
            _pg_wait(psycopg2, conn, d, step)
            one, version = cur.fetchone()
        if one != 1:
            raise _Unhealthy(f"SELECT 1 returned {one!r}")
        return f"PostgreSQL {version}"
    except psycopg2.Error as exc:
        raise _Unhealthy(f"{step}: {_first_line(exc)}") from None
    finally:
        if conn is not None:
            conn.close()


def _check_redis(s: ServiceSettings, d: _Deadline) -> str:
    redis = _driver("redis", "redis")
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
            raise _Unhealthy("PING did not answer PONG")
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
        raise _Unhealthy(d.expired(step)) from None
    except redis.RedisError as exc:
        raise _Unhealthy(f"{step}: {_first_line(exc)}") from None
    finally:
        conn.disconnect()


def _check_mysql(s: ServiceSettings, d: _Deadline) -> str:
    pymysql = _driver("pymysql", "pymysql")
    step = f"connect as {s.user} to {s.database}"
    try:
        left = d.left(step)
        conn = pymysql.connect(
            host=s.host,
            port=s.port,
            user=s.user,
            password=s.password or "",
            database=s.database,
            connect_timeout=left,
            ssl_disabled=True,  # loopback; an SSL context alone costs ~50 ms per check
            read_timeout=left,
            write_timeout=left,
        )
    except pymysql.MySQLError as exc:
        if d.end <= time.monotonic():
            raise _Unhealthy(d.expired(step)) from None
        raise _Unhealthy(f"{step}: {_first_line(exc)}") from None
    try:
        sock = getattr(conn, "_sock", None)  # pymysql has no public per-query timeout
        if sock is not None:
            sock.settimeout(d.left("SELECT 1"))  # what is left, not a fresh read_timeout
        with conn.cursor() as cur:
            cur.execute("SELECT 1, VERSION()")
            one, version = cur.fetchone()
        if one != 1:
            raise _Unhealthy(f"SELECT 1 returned {one!r}")
        return f"MySQL {version}"
    except pymysql.MySQLError as exc:
        raise _Unhealthy(f"SELECT 1: {_first_line(exc)}") from None
    finally:
        conn.close()


def _check_mongodb(s: ServiceSettings, d: _Deadline) -> str:
    pymongo = _driver("pymongo", "pymongo")
    from pymongo.errors import PyMongoError

    ms = max(1, int(d.left("connect") * 1000))
    client = pymongo.MongoClient(
        mongodb_url(s),
        serverSelectionTimeoutMS=ms,
        connectTimeoutMS=ms,
        socketTimeoutMS=ms,
        timeoutMS=ms,  # client-side operation timeout (CSOT): bounds every step together
        retryReads=False,
        retryWrites=False,
    )
    try:
        client.admin.command("ping")
        version = client.server_info().get("version", "?")
        collection = client[s.database or "kailash_test"]["kzt_health"]
        token = uuid.uuid4().hex
        collection.insert_one({"_id": token, "v": 1})
        doc = collection.find_one({"_id": token})
        collection.delete_one({"_id": token})
        if not doc or doc.get("v") != 1:
            raise _Unhealthy(f"write/read round trip returned {doc!r}")
        return f"MongoDB {version}"
    except PyMongoError as exc:
        if d.end <= time.monotonic() or getattr(exc, "timeout", False):
            raise _Unhealthy(d.expired("ping/round trip")) from None
        raise _Unhealthy(f"ping/round trip: {_first_line(exc)}") from None
    finally:
        client.close()


def _check_ollama(s: ServiceSettings, d: _Deadline) -> str:
    httpx = _driver("httpx", "httpx")
    base = f"http://{s.host}:{s.port}"
    step = "GET /api/tags"
    try:
        with httpx.Client() as http:
            tags = http.get(f"{base}/api/tags", timeout=d.left(step))
            if tags.status_code != 200:
                raise _Unhealthy(f"GET /api/tags answered HTTP {tags.status_code}")
            names = [m.get("name") or m.get("model") for m in tags.json().get("models", [])]
            if not model_listed(s.model or "", names):
                raise _Unhealthy(
                    f"model {s.model!r} is not listed by /api/tags (listed: "
                    f"{', '.join(map(str, names)) or 'none'}); pull it or set "
                    "KAIZEN_TEST_OLLAMA_MODEL"
                )
            step = "GET /api/version"
            try:
                version = (
                    http.get(f"{base}/api/version", timeout=d.left(step)).json().get("version", "?")
                )
            except (httpx.HTTPError, json.JSONDecodeError, AttributeError):
                version = "?"
            # The server has answered within the deadline; a model load may take longer.
            step = "one-token generation"
            gen = http.post(
                f"{base}/api/generate",
                json={
                    "model": s.model,
                    "prompt": "Hello",
                    "stream": False,
                    "options": {"num_predict": 1, "temperature": 0},
                },
                timeout=httpx.Timeout(OLLAMA_GENERATE_TIMEOUT_S, connect=max(d.seconds, 0.1)),
            )
            if gen.status_code != 200:
                raise _Unhealthy(
                    f"one-token generation answered HTTP {gen.status_code}: {gen.text[:200]}"
                )
            body = gen.json()
            if not body.get("done") or "response" not in body:
                raise _Unhealthy(f"one-token generation returned {str(body)[:200]}")
            return f"Ollama API {version}"
    except httpx.TimeoutException:
        if step == "one-token generation":
            raise _Unhealthy(f"{step}: no answer within {OLLAMA_GENERATE_TIMEOUT_S:.0f}s") from None
        raise _Unhealthy(d.expired(step)) from None
    except httpx.HTTPError as exc:
        raise _Unhealthy(f"HTTP: {_first_line(exc)}") from None
    except json.JSONDecodeError as exc:
        raise _Unhealthy(f"answer is not JSON: {_first_line(exc)}") from None


def model_listed(model: str, names: Iterable[object]) -> bool:
    """Ollama lists 'name:tag'; a model given without a tag means ':latest'."""
    wanted = {model, model if ":" in model else f"{model}:latest"}
    return any(str(n) in wanted for n in names)


CHECKS: dict[str, Callable[[ServiceSettings, _Deadline], str]] = {
    "postgresql": _check_postgresql,
    "redis": _check_redis,
    "mysql": _check_mysql,
    "mongodb": _check_mongodb,
    "ollama": _check_ollama,
}


def check(
    s: ServiceSettings, backend: str | None = None, deadline_s: float = CHECK_DEADLINE_S
) -> HealthReport:
    """Run the usability check of one service within `deadline_s`; never raises for service
    faults. A check that answers only after the deadline is unhealthy too."""
    started = time.perf_counter()
    report = HealthReport(service=s.name, healthy=False, endpoint=s.endpoint, backend=backend)
    d = _Deadline(deadline_s)
    try:
        refused = tcp_probe(s.host, s.port, timeout=min(0.5, d.left("TCP connect")))
        if refused is not None:
            raise _Unhealthy(refused)
        report.version = CHECKS[s.name](s, d)
        report.healthy = True
    except _Unhealthy as exc:
        report.reason = redact(str(exc), s.password)  # driver errors may quote a DSN
    except Exception as exc:  # a check must report, not crash: name the unexpected error
        report.reason = redact(f"unexpected {type(exc).__name__}: {_first_line(exc)}", s.password)
    report.latency_ms = round((time.perf_counter() - started) * 1000, 2)
    return report


def wait_healthy(
    s: ServiceSettings,
    timeout_s: float,
    backend: str | None = None,
    alive: Callable[[], str | None] | None = None,
) -> HealthReport:
    """Poll until healthy or the deadline passes (backoff 10 ms doubling to 100 ms).

    `alive` lets a starter abort early when its child process died; it returns a reason or
    None. Success is only reported from a check that finished before the deadline.
    """
    deadline = time.monotonic() + timeout_s
    delay = 0.01

    def one() -> HealthReport:  # each check within what is left of the wait as well
        left = deadline - time.monotonic()
        return check(s, backend, deadline_s=max(0.05, min(CHECK_DEADLINE_S, left)))

    report = one()
    while not report.healthy:
        if (report.reason or "").startswith(DRIVER_MISSING):
            return report  # waiting cannot install a driver
        dead = alive() if alive is not None else None
        if dead is not None:
            report.reason = f"{dead} (last check: {report.reason})"
            return report
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            report.reason = f"not healthy after {timeout_s:.1f}s: {report.reason}"
            return report
        _pause(min(delay, remaining))
        delay = min(delay * 2, 0.1)
        report = one()
        if report.healthy and time.monotonic() > deadline:
            report.healthy = False
            report.reason = f"became healthy only after the {timeout_s:.1f}s deadline"
    return report


def _pause(seconds: float) -> None:
    """Backoff between polls (not a readiness wait: the poll decides readiness)."""
    import threading

    threading.Event().wait(seconds)
