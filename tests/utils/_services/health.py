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

from .settings import ServiceSettings, mongodb_url

CONNECT_TIMEOUT_S = 2.0
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


def _check_postgresql(s: ServiceSettings) -> str:
    psycopg2 = _driver("psycopg2", "psycopg2-binary")
    try:
        conn = psycopg2.connect(
            host=s.host,
            port=s.port,
            dbname=s.database,
            user=s.user,
            password=s.password,
            connect_timeout=max(2, int(CONNECT_TIMEOUT_S)),
            options="-c statement_timeout=2000",
        )
    except psycopg2.Error as exc:
        raise _Unhealthy(f"connect as {s.user} to {s.database}: {_first_line(exc)}") from None
    try:
        with conn.cursor() as cur:
            cur.execute("SELECT 1, current_setting('server_version')")
            one, version = cur.fetchone()
        if one != 1:
            raise _Unhealthy(f"SELECT 1 returned {one!r}")
        return f"PostgreSQL {version}"
    except psycopg2.Error as exc:
        raise _Unhealthy(f"SELECT 1: {_first_line(exc)}") from None
    finally:
        conn.close()


def _check_redis(s: ServiceSettings) -> str:
    redis = _driver("redis", "redis")
    client = redis.Redis(
        host=s.host, port=s.port, socket_connect_timeout=CONNECT_TIMEOUT_S, socket_timeout=2.0
    )
    try:
        if client.ping() is not True:
            raise _Unhealthy("PING did not answer PONG")
        info = client.info("server")
        return f"Redis {info.get('redis_version', '?')}"
    except redis.RedisError as exc:
        raise _Unhealthy(f"PING: {_first_line(exc)}") from None
    finally:
        client.close()


def _check_mysql(s: ServiceSettings) -> str:
    pymysql = _driver("pymysql", "pymysql")
    try:
        conn = pymysql.connect(
            host=s.host,
            port=s.port,
            user=s.user,
            password=s.password or "",
            database=s.database,
            connect_timeout=CONNECT_TIMEOUT_S,
            ssl_disabled=True,  # loopback; an SSL context alone costs ~50 ms per check
            read_timeout=2,
            write_timeout=2,
        )
    except pymysql.MySQLError as exc:
        raise _Unhealthy(f"connect as {s.user} to {s.database}: {_first_line(exc)}") from None
    try:
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


def _check_mongodb(s: ServiceSettings) -> str:
    pymongo = _driver("pymongo", "pymongo")
    client = pymongo.MongoClient(
        mongodb_url(s),
        serverSelectionTimeoutMS=int(CONNECT_TIMEOUT_S * 1000),
        connectTimeoutMS=int(CONNECT_TIMEOUT_S * 1000),
        socketTimeoutMS=3000,
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
    except pymongo.errors.PyMongoError as exc:
        raise _Unhealthy(f"ping/round trip: {_first_line(exc)}") from None
    finally:
        client.close()


def _check_ollama(s: ServiceSettings) -> str:
    httpx = _driver("httpx", "httpx")
    base = f"http://{s.host}:{s.port}"
    try:
        with httpx.Client(timeout=httpx.Timeout(5.0, connect=CONNECT_TIMEOUT_S)) as http:
            tags = http.get(f"{base}/api/tags")
            if tags.status_code != 200:
                raise _Unhealthy(f"GET /api/tags answered HTTP {tags.status_code}")
            names = [m.get("name") or m.get("model") for m in tags.json().get("models", [])]
            if not model_listed(s.model or "", names):
                raise _Unhealthy(
                    f"model {s.model!r} is not listed by /api/tags (listed: "
                    f"{', '.join(map(str, names)) or 'none'}); pull it or set "
                    "KAIZEN_TEST_OLLAMA_MODEL"
                )
            try:
                version = http.get(f"{base}/api/version").json().get("version", "?")
            except (httpx.HTTPError, json.JSONDecodeError, AttributeError):
                version = "?"
            gen = http.post(
                f"{base}/api/generate",
                json={
                    "model": s.model,
                    "prompt": "Hello",
                    "stream": False,
                    "options": {"num_predict": 1, "temperature": 0},
                },
                timeout=OLLAMA_GENERATE_TIMEOUT_S,
            )
            if gen.status_code != 200:
                raise _Unhealthy(
                    f"one-token generation answered HTTP {gen.status_code}: {gen.text[:200]}"
                )
            body = gen.json()
            if not body.get("done") or "response" not in body:
                raise _Unhealthy(f"one-token generation returned {str(body)[:200]}")
            return f"Ollama API {version}"
    except httpx.HTTPError as exc:
        raise _Unhealthy(f"HTTP: {_first_line(exc)}") from None
    except json.JSONDecodeError as exc:
        raise _Unhealthy(f"answer is not JSON: {_first_line(exc)}") from None


def model_listed(model: str, names: Iterable[object]) -> bool:
    """Ollama lists 'name:tag'; a model given without a tag means ':latest'."""
    wanted = {model, model if ":" in model else f"{model}:latest"}
    return any(str(n) in wanted for n in names)


CHECKS: dict[str, Callable[[ServiceSettings], str]] = {
    "postgresql": _check_postgresql,
    "redis": _check_redis,
    "mysql": _check_mysql,
    "mongodb": _check_mongodb,
    "ollama": _check_ollama,
}


def check(s: ServiceSettings, backend: str | None = None) -> HealthReport:
    """Run the usability check of one service; never raises for service faults."""
    started = time.perf_counter()
    report = HealthReport(service=s.name, healthy=False, endpoint=s.endpoint, backend=backend)
    refused = tcp_probe(s.host, s.port)
    try:
        if refused is not None:
            raise _Unhealthy(refused)
        report.version = CHECKS[s.name](s)
        report.healthy = True
    except _Unhealthy as exc:
        report.reason = str(exc)
    except Exception as exc:  # a check must report, not crash: name the unexpected error
        report.reason = f"unexpected {type(exc).__name__}: {_first_line(exc)}"
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
    report = check(s, backend)
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
        report = check(s, backend)
        if report.healthy and time.monotonic() > deadline:
            report.healthy = False
            report.reason = f"became healthy only after the {timeout_s:.1f}s deadline"
    return report


def _pause(seconds: float) -> None:
    """Backoff between polls (not a readiness wait: the poll decides readiness)."""
    import threading

    threading.Event().wait(seconds)
