"""Redis backend contracts that need no server: command and URL screening, how redis-py
errors become typed errors, node config checks, closing. A closed loopback port stands in
for an unreachable server."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
import redis

from kaizen.dataflow import (
    ConnectionLostError,
    DatabaseConnectionError,
    DataFlowError,
    InvalidConnectionError,
    QueryError,
    RedisDatabase,
    UnsafeQueryError,
)
from kaizen.dataflow.redis import RedisCommandNode, _check_command
from kaizen.errors import WorkflowValidationError
from tests.utils._services.ports import free_port

# A closed loopback port, never a real server's (6379 is the machine's own Redis): a test
# whose screening regressed must fail to connect, not send a refused command somewhere.
PORT = free_port()
URL = f"redis://127.0.0.1:{PORT}/0"


def _raise(exc: BaseException) -> Callable[[], Any]:
    def call() -> Any:
        raise exc

    return call


@pytest.mark.parametrize("command", [None, 7, "", "  ", "SET a b"])
def test_command_must_be_one_name(command: Any) -> None:
    with pytest.raises(UnsafeQueryError) as info:
        _check_command(command)
    assert str(info.value) == (
        f"redis: command must be a single command name such as 'GET', got {command!r}; pass "
        "values as args"
    )
    assert info.value.database == "redis"


def test_refused_command_names_redis() -> None:
    with pytest.raises(UnsafeQueryError) as info:
        _check_command(" flushall ")
    assert str(info.value) == "redis: command FLUSHALL is refused by data nodes"
    assert info.value.database == "redis"
    assert _check_command(" get ") == "GET"


@pytest.mark.parametrize(
    "url", ["redis://h:6379/0", "rediss://h:6380/0", "unix:///run/redis.sock?db=0"]
)
def test_accepted_url_schemes(url: str) -> None:
    db = RedisDatabase(url)
    assert db.url == url and db.timeout == 10.0


@pytest.mark.parametrize("url", ["http://h:6379", "REDISS://h", "UNIX:///x.sock", 5])
def test_other_urls_are_refused(url: Any) -> None:
    with pytest.raises(UnsafeQueryError) as info:
        RedisDatabase(url)
    assert str(info.value) == f"redis: connection must be a redis:// URL, got {url!r}"
    assert info.value.database == "redis"


def test_bad_port_names_only_the_port() -> None:
    with pytest.raises(InvalidConnectionError) as info:
        RedisDatabase("redis://:secret@h:abc/0")
    assert str(info.value) == (
        "redis: connection port: 'abc' is not a port number (0-65535); write "
        "redis://[:password@]host:6379/0"  # the example is not redacted
    )
    assert "secret" not in str(info.value)
    assert (info.value.database, info.value.part) == ("redis", "port")


def test_timeout_reaches_the_client() -> None:
    db = RedisDatabase(URL, timeout=2.5)
    kwargs = db.client.connection_pool.connection_kwargs
    assert (kwargs["socket_timeout"], kwargs["socket_connect_timeout"]) == (2.5, 2.5)
    db.close()


def test_close_is_safe_before_and_after_use() -> None:
    db = RedisDatabase(URL)
    db.close()
    client = db.client
    db.close()
    assert db.client is not client
    db.close()


def test_unreachable_server_is_a_connection_error() -> None:
    port = free_port()
    db = RedisDatabase(f"redis://127.0.0.1:{port}/0", timeout=2)
    with pytest.raises(DatabaseConnectionError) as info:
        db.command("PING")
    assert type(info.value) is DatabaseConnectionError
    assert (info.value.database, info.value.endpoint) == ("redis", f"127.0.0.1:{port}")
    assert isinstance(info.value.__cause__, redis.exceptions.ConnectionError)


@pytest.mark.parametrize("text", ["Connection refused", "Error 111 connecting to h:1."])
def test_refusal_either_way_is_cannot_connect(text: str) -> None:
    with pytest.raises(DatabaseConnectionError) as info:
        RedisDatabase(URL)._guard(_raise(redis.exceptions.ConnectionError(text)), "GET")
    assert type(info.value) is DatabaseConnectionError
    assert str(info.value) == f"redis: cannot connect: {text} (at 127.0.0.1:{PORT})"
    assert (info.value.database, info.value.endpoint) == ("redis", f"127.0.0.1:{PORT}")


@pytest.mark.parametrize(
    "exc",
    [
        redis.exceptions.ConnectionError("Connection reset by peer"),
        redis.exceptions.TimeoutError("Timeout reading from socket"),
    ],
)
def test_other_connection_failures_are_a_lost_connection(exc: Exception) -> None:
    with pytest.raises(ConnectionLostError) as info:
        RedisDatabase(URL)._guard(_raise(exc), "MULTI SET GET")
    assert str(info.value) == (
        f"redis: connection lost during MULTI SET GET ({exc}) (at 127.0.0.1:{PORT})"
    )
    assert (info.value.database, info.value.endpoint) == ("redis", f"127.0.0.1:{PORT}")
    assert info.value.__cause__ is exc


def test_server_rejection_is_a_query_error() -> None:
    exc = redis.exceptions.ResponseError("WRONGTYPE Operation against a key")
    with pytest.raises(QueryError) as info:
        RedisDatabase(URL)._guard(_raise(exc), "LPUSH")
    assert str(info.value) == "redis: WRONGTYPE Operation against a key; query: LPUSH"
    assert (info.value.database, info.value.query, info.value.code) == ("redis", "LPUSH", None)
    assert info.value.__cause__ is exc


def test_other_redis_errors_are_dataflow_errors() -> None:
    exc = redis.exceptions.DataError("bad value")
    with pytest.raises(DataFlowError) as info:
        RedisDatabase(URL)._guard(_raise(exc), "SET")
    assert str(info.value) == "redis: DataError: bad value"
    assert info.value.__cause__ is exc


def test_node_needs_exactly_one_of_command_or_commands() -> None:
    with pytest.raises(WorkflowValidationError) as info:
        RedisCommandNode("r", {"connection": URL})
    assert str(info.value) == (
        "node 'r' (RedisCommandNode): give exactly one of 'command' or 'commands'"
    )


def test_node_screens_every_command_of_a_block() -> None:
    with pytest.raises(WorkflowValidationError) as info:
        RedisCommandNode("r", {"connection": URL, "commands": ["SET", "FLUSHALL"]})
    assert str(info.value) == (
        "node 'r' (RedisCommandNode): redis: command FLUSHALL is refused by data nodes"
    )
