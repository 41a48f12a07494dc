"""The call log every mock here shares, so assertions read the same whichever mock a test
uses, and the fault injection of the backend mocks (`fail_with`)."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, TypeVar

from kaizen.errors import KaizenError
from tests.utils.errors import ToolkitError

T = TypeVar("T")


class MockProviderError(ToolkitError, KaizenError):
    """A mock was asked for something it was not told to answer (a test-setup bug)."""


def clip(text: str, limit: int = 120) -> str:
    return text if len(text) <= limit else text[: limit - 3] + "..."


@dataclass(frozen=True, slots=True)
class Call:
    """One recorded call: which method, with what, and what came back (or was raised)."""

    target: str
    method: str
    args: tuple[Any, ...]
    kwargs: Mapping[str, Any]
    result: Any = None
    error: BaseException | None = None
    at: float = 0.0

    @property
    def ok(self) -> bool:
        return self.error is None


class CallLog:
    """Thread-safe record of calls, shared by every mock here so assertions read the same."""

    def __init__(self, target: str) -> None:
        self._target = target
        self._calls: list[Call] = []
        self._lock = threading.Lock()

    def record(
        self,
        method: str,
        args: tuple[Any, ...] = (),
        kwargs: Mapping[str, Any] | None = None,
        *,
        result: Any = None,
        error: BaseException | None = None,
    ) -> Call:
        call = Call(self._target, method, args, dict(kwargs or {}), result, error, time.time())
        with self._lock:
            self._calls.append(call)
        return call

    @property
    def calls(self) -> list[Call]:
        with self._lock:
            return list(self._calls)

    def calls_to(self, method: str) -> list[Call]:
        return [c for c in self.calls if c.method == method]

    def assert_called(self, method: str, times: int | None = None) -> list[Call]:
        """Fail with the recorded methods when `method` was not called (`times` times)."""
        matching = self.calls_to(method)
        if (times is None and not matching) or (times is not None and len(matching) != times):
            wanted = "at least once" if times is None else f"{times} time(s)"
            seen = ", ".join(c.method for c in self.calls) or "nothing"
            raise AssertionError(
                f"{self._target}.{method} expected {wanted}, called {len(matching)} time(s); "
                f"calls: {seen}"
            )
        return matching

    def reset(self) -> None:
        with self._lock:
            self._calls.clear()

    def __len__(self) -> int:
        with self._lock:
            return len(self._calls)


class Recorded:
    """Mixin: `.calls`, `.calls_to()`, `.assert_called()`, `.reset_calls()`."""

    log: CallLog

    @property
    def calls(self) -> list[Call]:
        return self.log.calls

    def calls_to(self, method: str) -> list[Call]:
        return self.log.calls_to(method)

    def assert_called(self, method: str, times: int | None = None) -> list[Call]:
        return self.log.assert_called(method, times)

    def reset_calls(self) -> None:
        self.log.reset()


@dataclass
class _Failure:
    error: BaseException
    method: str | None
    remaining: int | None


class Layer(Recorded):
    """A recording, fault-injecting layer over a real backend: every public call goes
    through `_call`, which raises a scheduled failure (recorded, the backend untouched) or
    runs the real operation and records what it returned or raised."""

    def _init_layer(self, target: str) -> None:
        self.log = CallLog(target)
        self._failures: list[_Failure] = []
        self._failures_lock = threading.Lock()

    def fail_with(
        self, error: BaseException, times: int | None = 1, *, method: str | None = None
    ) -> None:
        """Make the next `times` calls (None: every call) of `method` (None: any method)
        raise `error` instead of reaching the backend."""
        if not isinstance(error, BaseException):
            raise TypeError(f"fail_with() needs an exception, got {type(error).__name__}")
        if times is not None and times < 1:
            raise ValueError(f"times must be >= 1 or None, got {times}")
        with self._failures_lock:
            self._failures.append(_Failure(error, method, times))

    def clear_failures(self) -> None:
        with self._failures_lock:
            self._failures.clear()

    def _scheduled(self, method: str) -> BaseException | None:
        with self._failures_lock:
            for failure in self._failures:
                if failure.method in (None, method):
                    if failure.remaining is not None:
                        failure.remaining -= 1
                        if failure.remaining == 0:
                            self._failures.remove(failure)
                    return failure.error
        return None

    def _call(
        self,
        method: str,
        args: tuple[Any, ...],
        kwargs: Mapping[str, Any] | None,
        operation: Callable[[], T],
    ) -> T:
        error = self._scheduled(method)
        if error is not None:
            self.log.record(method, args, kwargs, error=error)
            raise error
        try:
            result = operation()
        except BaseException as exc:
            self.log.record(method, args, kwargs, error=exc)
            raise
        self.log.record(method, args, kwargs, result=result)
        return result
