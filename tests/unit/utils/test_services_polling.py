"""The stack's one wait loop."""

from __future__ import annotations

import time

from tests.utils._services.polling import poll, wait_for


def test_poll_returns_true_as_soon_as_the_predicate_holds() -> None:
    calls = []

    def third_time() -> bool:
        calls.append(1)
        return len(calls) >= 3

    assert poll(third_time, 5.0) is True
    assert len(calls) == 3


def test_poll_gives_up_at_the_deadline_and_checks_at_least_once() -> None:
    calls = []
    started = time.monotonic()
    assert poll(lambda: bool(calls.append(1)), 0.05) is False
    elapsed = time.monotonic() - started
    assert 0.05 <= elapsed < 1.0 and len(calls) >= 2
    assert poll(lambda: True, 0.0) is True, "a zero timeout still asks once"


def test_a_wait_counts_its_attempts() -> None:
    calls = iter([0, 0, 3])
    waited = wait_for(lambda: next(calls), 5.0, first_pause_s=0.001, max_pause_s=0.001)
    assert (waited.ok, waited.value, waited.attempts) == (True, 3, 3)
    never = wait_for(lambda: 0, 0.0)
    assert (never.ok, never.attempts) == (False, 1)  # runs once, even with no time
