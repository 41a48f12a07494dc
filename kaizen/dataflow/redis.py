"""Redis through redis-py (imported on first use: `pip install 'kaizen[redis]'`).

Commands travel as separate protocol arguments, so a value is never parsed as a command.
Administrative and scripting commands are refused: a data node has no business flushing
the server or running Lua.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from typing import Any
from urllib.parse import urlsplit

from kaizen._redact import safe_cause
from kaizen.dataflow._sql import endpoint_of
from kaizen.dataflow.errors import (
    ConnectionLostError,
    DatabaseConnectionError,
    DataFlowError,
    InvalidConnectionError,
    MissingDriverError,
    QueryError,
    UnsafeQueryError,
)
from kaizen.errors import WorkflowValidationError
from kaizen.workflow.node import Node, register_node

REFUSED_COMMANDS = frozenset(
    {
        "EVAL",
        "EVALSHA",
        "EVAL_RO",
        "EVALSHA_RO",
        "SCRIPT",
        "FUNCTION",
        "FCALL",
        "FCALL_RO",
        "FLUSHALL",
        "FLUSHDB",
        "CONFIG",
        "SHUTDOWN",
        "DEBUG",
        "MODULE",
        "SLAVEOF",
        "REPLICAOF",
        "MIGRATE",
        "ACL",
        "SWAPDB",
        "MONITOR",
        "SYNC",
        "PSYNC",
    }
)
_NAME = "redis"


def _redis() -> Any:
    try:
        import redis
    except ImportError:
        raise MissingDriverError(_NAME, "redis", "redis") from None
    return redis


def _check_command(command: Any) -> str:
    if not isinstance(command, str) or not command.strip() or " " in command.strip():
        raise UnsafeQueryError(
            f"command must be a single command name such as 'GET', got {command!r}; pass "
            "values as args",
            database=_NAME,
        )
    name = command.strip().upper()
    if name in REFUSED_COMMANDS:
        raise UnsafeQueryError(f"command {name} is refused by data nodes", database=_NAME)
    return name


def _check_args(args: Any) -> tuple[Any, ...]:
    if args is None:
        return ()
    if isinstance(args, str | bytes) or not isinstance(args, Sequence):
        raise UnsafeQueryError(
            f"args must be a list of values, got {type(args).__name__} {args!r}",
            database=_NAME,
        )
    return tuple(args)


class RedisDatabase:
    """Typed command execution (strings decoded as UTF-8); `transaction()` uses MULTI/EXEC."""

    def __init__(self, url: str, *, timeout: float = 10.0) -> None:
        if not isinstance(url, str) or not url.startswith(("redis://", "rediss://", "unix://")):
            raise UnsafeQueryError(
                f"connection must be a redis:// URL, got {url!r}", database=_NAME
            )
        try:
            _ = urlsplit(url).port  # a bare ValueError from redis-py otherwise
        except ValueError:
            raise InvalidConnectionError(
                f"{urlsplit(url).netloc.rpartition(':')[2]!r} is not a port number (0-65535)",
                database=_NAME,
                part="port",
                hint="redis://[:password@]host:6379/0",
            ) from None
        self.url = url
        self.endpoint = endpoint_of(url)
        self.timeout = timeout
        self._client: Any = None
        #: Threads share one client: two racing first uses made two, and the one dropped
        #: was closed by its __del__ under the other thread's pipeline (EBADF mid-MULTI).
        self._lock = threading.Lock()

    def __repr__(self) -> str:
        return f"RedisDatabase({self.endpoint})"

    def __enter__(self) -> RedisDatabase:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @property
    def client(self) -> Any:
        with self._lock:
            if self._client is None:
                self._client = _redis().Redis.from_url(
                    self.url,
                    decode_responses=True,
                    socket_timeout=self.timeout,
                    socket_connect_timeout=self.timeout,
                )
            return self._client

    def close(self) -> None:
        with self._lock:
            client, self._client = self._client, None
        if client is not None:
            client.close()

    def command(self, command: str, *args: Any) -> Any:
        name = _check_command(command)
        return self._guard(lambda: self.client.execute_command(name, *args), name)

    def transaction(self, commands: Sequence[tuple[str, Sequence[Any]]]) -> list[Any]:
        """All commands in one MULTI/EXEC block: applied together or (on a queueing error)
        not at all. Redis has no rollback of a command that fails at run time."""
        if not commands:
            raise UnsafeQueryError("transaction needs at least one command", database=_NAME)
        checked = [(_check_command(c), _check_args(a)) for c, a in commands]

        def body() -> list[Any]:
            with self.client.pipeline(transaction=True) as pipe:
                for name, args in checked:
                    pipe.execute_command(name, *args)
                return list(pipe.execute())

        return self._guard(body, "MULTI " + " ".join(n for n, _ in checked))

    def _guard(self, call: Any, label: str) -> Any:
        exceptions = _redis().exceptions
        try:
            return call()
        except (exceptions.ConnectionError, exceptions.TimeoutError) as exc:
            text = str(exc)
            if "refused" in text.lower() or "error 111" in text.lower():
                raise DatabaseConnectionError(
                    f"cannot connect: {text}", database=_NAME, endpoint=self.endpoint
                ) from safe_cause(exc)
            raise ConnectionLostError(
                f"connection lost during {label} ({text})",
                database=_NAME,
                endpoint=self.endpoint,
            ) from safe_cause(exc)
        except exceptions.ResponseError as exc:
            raise QueryError(str(exc), database=_NAME, query=label, code=None) from safe_cause(exc)
        except exceptions.RedisError as exc:
            raise DataFlowError(f"{type(exc).__name__}: {exc}", database=_NAME) from safe_cause(exc)


@register_node
class RedisCommandNode(Node):
    """Runs one command (`command`, input `args`) or a MULTI/EXEC block (`commands`, input
    `args` as one list per command). Config: `connection` (redis:// URL). Output: `result`
    (or `results` for a block)."""

    config_keys = frozenset({"connection", "command", "commands", "timeout"})
    required_config = frozenset({"connection"})
    outputs = ("result", "results")
    __slots__ = ()

    def validate_config(self) -> None:
        super().validate_config()
        where = f"node {self.node_id!r} (RedisCommandNode)"
        command, commands = self.config.get("command"), self.config.get("commands")
        if (command is None) == (commands is None):
            raise WorkflowValidationError(f"{where}: give exactly one of 'command' or 'commands'")
        try:
            for name in [command] if command is not None else list(commands or ()):
                _check_command(name)
        except (UnsafeQueryError, TypeError) as exc:
            raise WorkflowValidationError(f"{where}: {exc}") from None

    def run(self, args: Any = None) -> dict[str, Any]:  # type: ignore[override]  # names its one input
        with RedisDatabase(
            self.config["connection"], timeout=self.config.get("timeout", 10.0)
        ) as db:
            if self.config.get("command") is not None:
                result = db.command(self.config["command"], *_check_args(args))
                return {"result": result, "results": [result]}
            names = list(self.config["commands"])
            per_command: Sequence[Any] = [None] * len(names) if args is None else _check_args(args)
            if len(per_command) != len(names):
                raise UnsafeQueryError(
                    f"{len(names)} commands but {len(per_command)} argument lists",
                    database=_NAME,
                )
            results = db.transaction(list(zip(names, per_command, strict=True)))
            return {"result": results[-1], "results": results}
