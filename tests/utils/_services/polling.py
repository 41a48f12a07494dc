"""The stack's one wait loop: try something until it is done, a deadline passes, or the
process it waits for has died.

Why one: every wait in the stack (a server's exit, readiness, a bootstrap, a port, an
engine) must be bounded by a single deadline, back off the same way, stop as soon as the
child it waits for is dead, and keep the last error for the message, so no caller can hang,
spin, or report "timed out" without saying what it last saw.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Generic, TypeVar

T = TypeVar("T")

_FIRST_PAUSE_S = 0.005
_MAX_PAUSE_S = 0.1


@dataclass
class Waited(Generic[T]):
    """How a wait ended."""

    #: `done(value)` held for a value the attempt returned before the deadline
    ok: bool
    #: the last value the attempt returned (None if it never returned)
    value: T | None
    #: the last exception the attempt raised (one of `errors`), if its last try raised
    error: BaseException | None
    #: why `alive()` said the awaited process is gone, if it did
    dead: str | None
    elapsed_s: float
    #: how many times `attempt` ran
    attempts: int = 1

    def last(self) -> str:
        """The last thing seen, for a message: the error, else the value."""
        if self.error is not None:
            return str(self.error).strip()[:200] or type(self.error).__name__
        return repr(self.value)[:200]


def wait_for(
    attempt: Callable[[], T],
    timeout_s: float,
    *,
    done: Callable[[T], bool] = bool,
    alive: Callable[[], str | None] | None = None,
    errors: tuple[type[BaseException], ...] = (),
    first_pause_s: float = _FIRST_PAUSE_S,
    max_pause_s: float = _MAX_PAUSE_S,
) -> Waited[T]:
    """Call `attempt` until `done(value)`; an exception in `errors` counts as "not yet".

    The attempt runs at least once, even with a zero timeout. `alive()` (None while the
    awaited process runs, else why not) ends the wait early. The pause doubles from
    `first_pause_s` to `max_pause_s` and never sleeps past the deadline.
    """
    started = time.monotonic()
    deadline = started + timeout_s
    pause = first_pause_s
    wake = threading.Event()
    attempts = 0
    while True:
        attempts += 1
        value: T | None = None
        error: BaseException | None = None
        try:
            value = attempt()
            if done(value):
                return Waited(True, value, None, None, time.monotonic() - started, attempts)
        except errors as exc:
            error = exc
        dead = alive() if alive is not None else None
        remaining = deadline - time.monotonic()
        if dead is not None or remaining <= 0:
            return Waited(False, value, error, dead, time.monotonic() - started, attempts)
        wake.wait(min(pause, remaining))
        pause = min(pause * 2, max_pause_s)


def poll(predicate: Callable[[], bool], timeout_s: float) -> bool:
    """True as soon as `predicate()` holds; False once `timeout_s` has passed without it."""
    return wait_for(predicate, timeout_s).ok
