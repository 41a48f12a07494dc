"""The stack's one wait loop: poll a predicate until it holds or a deadline passes.

Why one: every wait in the stack (a server's exit, readiness, a port) must be bounded by a
single deadline and back off the same way, so no caller can hang or spin.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

_FIRST_PAUSE_S = 0.005
_MAX_PAUSE_S = 0.1


def poll(predicate: Callable[[], bool], timeout_s: float) -> bool:
    """True as soon as `predicate()` holds; False once `timeout_s` has passed without it."""
    deadline = time.monotonic() + timeout_s
    pause = _FIRST_PAUSE_S
    wake = threading.Event()
    while True:
        if predicate():
            return True
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            return False
        wake.wait(min(pause, remaining))
        pause = min(pause * 2, _MAX_PAUSE_S)
