"""Health means *usable*: each check does what a test would do, with a bounded timeout.

A check never raises for an unreachable or broken service: it returns an unhealthy
HealthReport whose reason says what failed, so callers can build precise skip reasons.
Each service's own check lives in its catalog module (`Service.check`); this module holds
what they share: the one deadline, the report, the TCP probe, and the wait.
"""

from __future__ import annotations

import errno
import socket
import time
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from typing import Any

from tests.utils.errors import ToolkitError

from . import catalog
from .polling import wait_for
from .settings import ServiceSettings, redact

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


class Unhealthy(ToolkitError):
    """A check step failed; the message is the human-readable reason (a service's `check`
    raises it)."""


class Deadline:
    """The check's single deadline; every step's client timeout is what is left of it.

    Why: drivers retry (redis-py turned a 2 s socket timeout into ~26 s) and add their
    timeouts step by step; deriving each step's timeout from one end time bounds the sum.
    """

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self.end = time.monotonic() + seconds

    def left(self, step: str) -> float:
        """Seconds left for `step`; Unhealthy once the deadline has passed."""
        remaining = self.end - time.monotonic()
        if remaining <= 0:
            raise Unhealthy(self.expired(step))
        return remaining

    def expired(self, step: str) -> str:
        return f"{step}: no answer within the {self.seconds:.1f}s health-check deadline"


def first_line(exc: BaseException) -> str:
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
        return first_line(exc)


def driver(module: str, package: str) -> Any:
    import importlib

    try:
        return importlib.import_module(module)
    except ImportError:
        raise Unhealthy(
            f"{DRIVER_MISSING}{module!r} is not installed (pip install {package}, or "
            "pip install -e '.[test]')"
        ) from None


def model_listed(model: str, names: Iterable[object]) -> bool:
    """Ollama lists 'name:tag'; a model given without a tag means ':latest'."""
    wanted = {model, model if ":" in model else f"{model}:latest"}
    return any(str(n) in wanted for n in names)


def check(
    s: ServiceSettings, backend: str | None = None, deadline_s: float = CHECK_DEADLINE_S
) -> HealthReport:
    """Run the usability check of one service within `deadline_s`; never raises for service
    faults. A check that answers only after the deadline is unhealthy too."""
    started = time.perf_counter()
    report = HealthReport(service=s.name, healthy=False, endpoint=s.endpoint, backend=backend)
    d = Deadline(deadline_s)
    try:
        refused = tcp_probe(s.host, s.port, timeout=min(0.5, d.left("TCP connect")))
        if refused is not None:
            raise Unhealthy(refused)
        report.version = catalog.get(s.name).check(s, d)
        report.healthy = True
    except Unhealthy as exc:
        report.reason = redact(str(exc), s.password)  # driver errors may quote a DSN
    except Exception as exc:  # a check must report, not crash: name the unexpected error
        report.reason = redact(f"unexpected {type(exc).__name__}: {first_line(exc)}", s.password)
    report.latency_ms = round((time.perf_counter() - started) * 1000, 2)
    return report


def wait_healthy(
    s: ServiceSettings,
    timeout_s: float,
    backend: str | None = None,
    alive: Callable[[], str | None] | None = None,
) -> HealthReport:
    """Check until healthy or the deadline passes (the one wait loop: polling.wait_for).

    `alive` lets a starter abort early when its child process (or container) died; it
    returns a reason or None. Success is only reported from a check that finished before
    the deadline; a missing driver ends the wait at once (waiting cannot install it).
    """
    deadline = time.monotonic() + timeout_s

    def one() -> HealthReport:  # each check within what is left of the wait as well
        left = deadline - time.monotonic()
        return check(s, backend, deadline_s=max(0.05, min(CHECK_DEADLINE_S, left)))

    def settled(report: HealthReport) -> bool:
        return report.healthy or (report.reason or "").startswith(DRIVER_MISSING)

    waited = wait_for(one, timeout_s, done=settled, alive=alive, first_pause_s=0.01)
    report = waited.value
    assert report is not None  # `one` never raises: a check reports, it does not crash
    if report.healthy and time.monotonic() > deadline:
        report.healthy = False
        report.reason = f"became healthy only after the {timeout_s:.1f}s deadline"
    elif waited.dead is not None:
        report.reason = f"{waited.dead} (last check: {report.reason})"
    elif not report.healthy and not (report.reason or "").startswith(DRIVER_MISSING):
        report.reason = f"not healthy after {timeout_s:.1f}s: {report.reason}"
    return report


#: the names these had while private (kept for callers outside the package)
_Unhealthy, _Deadline, _first_line, _driver = Unhealthy, Deadline, first_line, driver
