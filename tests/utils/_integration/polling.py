"""Polling with a deadline: `wait_for_condition` (threads, on the toolkit's one wait loop,
`_services.polling.wait_for`) and its event-loop twin. Never a sleep for readiness: the
deadline is hard, and the error says what was awaited and what was last seen."""

from __future__ import annotations

import asyncio
import inspect
from collections.abc import Awaitable, Callable
from typing import TypeVar, cast

from tests.utils._services.polling import wait_for
from tests.utils.errors import ToolkitError

T = TypeVar("T")


class ConditionTimeout(ToolkitError, AssertionError):
    """`wait_for_condition` ran out of time; says what was awaited and what it last saw."""


def _describe(predicate: Callable[..., object], message: str | None) -> str:
    return message or str(getattr(predicate, "__name__", repr(predicate)))


def _timeout_error(
    what: str, timeout: float, polls: int, last: object, error: BaseException | None
) -> ConditionTimeout:
    seen = f"last error {type(error).__name__}: {error}" if error else f"last value {last!r}"
    return ConditionTimeout(f"{what}: not true within {timeout:g}s ({polls} polls; {seen})")


def _check_args(timeout: float, interval: float) -> None:
    if not timeout > 0:
        raise ValueError(f"timeout must be > 0 seconds, got {timeout!r}")
    if not interval > 0:
        raise ValueError(f"interval must be > 0 seconds, got {interval!r}")


def wait_for_condition(
    predicate: Callable[[], T],
    timeout: float = 10.0,
    interval: float = 0.05,
    *,
    message: str | None = None,
    ignore: tuple[type[BaseException], ...] = (),
) -> T:
    """Poll `predicate` until it returns something truthy; return that value.

    Raises `ConditionTimeout` at the deadline (never returns after it). Exceptions listed
    in `ignore` count as "not yet" (e.g. ConnectionRefusedError while a server starts).
    """
    _check_args(timeout, interval)
    waited = wait_for(
        predicate, timeout, errors=ignore, first_pause_s=interval, max_pause_s=interval
    )
    if waited.ok:
        return cast(T, waited.value)
    what = _describe(predicate, message)
    raise _timeout_error(what, timeout, waited.attempts, waited.value, waited.error)


async def wait_for_condition_async(
    predicate: Callable[[], T | Awaitable[T]],
    timeout: float = 10.0,
    interval: float = 0.05,
    *,
    message: str | None = None,
    ignore: tuple[type[BaseException], ...] = (),
) -> T:
    """`wait_for_condition` for the event loop; `predicate` may be sync or async."""
    _check_args(timeout, interval)
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    polls = 0
    last: T | None = None
    error: BaseException | None = None
    while True:
        polls += 1
        try:
            value = predicate()
            if inspect.isawaitable(value):
                last = await asyncio.wait_for(value, max(deadline - loop.time(), 0.001))
            else:
                last = value
            error = None
            if last:
                return last
        except TimeoutError as exc:
            error = exc
        except ignore as exc:
            error = exc
        remaining = deadline - loop.time()
        if remaining <= 0:
            raise _timeout_error(_describe(predicate, message), timeout, polls, last, error)
        await asyncio.sleep(min(interval, remaining))  # a poll interval, bounded by the deadline
