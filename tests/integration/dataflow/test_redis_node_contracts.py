"""RedisDatabase / RedisCommandNode against the real Redis: the query label errors carry,
MULTI/EXEC atomicity on a queueing error, both node shapes and their outputs, and that a
node's `timeout` bounds a call to a server that never answers."""

from __future__ import annotations

import socket
import threading
from typing import Any

import pytest

from kaizen.dataflow import ConnectionLostError, QueryError, RedisDatabase, UnsafeQueryError
from kaizen.dataflow.redis import RedisCommandNode

pytestmark = pytest.mark.requires_services("redis")


def test_rejected_command_names_itself(redis_url: str) -> None:
    with RedisDatabase(redis_url) as db:
        db.command("SET", "txt", "abc")
        with pytest.raises(QueryError) as info:
            db.command("incr", "txt")
    assert info.value.query == "INCR"
    assert str(info.value).endswith("; query: INCR")


def test_queueing_error_applies_nothing_and_names_the_block(redis_url: str) -> None:
    with RedisDatabase(redis_url) as db:
        with pytest.raises(QueryError) as info:
            db.transaction([("SET", ["k", "v"]), ("GET", []), ("SET", ["j", "w"])])
        assert db.command("EXISTS", "k", "j") == 0
    assert info.value.query == "MULTI SET GET SET"


def test_block_results_in_order(redis_url: str) -> None:
    with RedisDatabase(redis_url) as db:
        results = db.transaction([("set", ["c", 1]), ("INCRBY", ["c", 5]), ("GET", ["c"])])
    assert results == [True, 6, "6"]


def test_node_runs_one_command(redis_url: str) -> None:
    with RedisDatabase(redis_url) as db:
        db.command("SET", "greeting", "hi")
    node = RedisCommandNode("get", {"connection": redis_url, "command": "GET"})
    assert node.run(args=["greeting"]) == {"result": "hi", "results": ["hi"]}


def test_node_runs_a_block_and_returns_the_last_result(redis_url: str) -> None:
    node = RedisCommandNode(
        "tx", {"connection": redis_url, "commands": ["SET", "INCRBY", "GET"], "timeout": 5}
    )
    out = node.run(args=[["c", 1], ["c", 5], ["c"]])
    assert out == {"result": "6", "results": [True, 6, "6"]}


def test_node_block_without_args_sends_each_command_bare(redis_url: str) -> None:
    node = RedisCommandNode("tx", {"connection": redis_url, "commands": ["PING", "DBSIZE"]})
    assert node.run() == {"result": 0, "results": [True, 0]}


def test_node_block_needs_one_argument_list_per_command(redis_url: str) -> None:
    node = RedisCommandNode("tx", {"connection": redis_url, "commands": ["SET", "GET"]})
    with pytest.raises(UnsafeQueryError, match="2 commands but 1 argument lists"):
        node.run(args=[["k", "v"]])
    with RedisDatabase(redis_url) as db:
        assert db.command("EXISTS", "k") == 0


def test_node_timeout_bounds_a_silent_server() -> None:
    """A listener that never answers: the node's 0.3 s timeout (not the 10 s default, not
    none) ends the call with a lost connection, retries included, well within 8 s."""
    with socket.socket() as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen(16)
        port = silent.getsockname()[1]
        node = RedisCommandNode(
            "p", {"connection": f"redis://127.0.0.1:{port}/0", "command": "PING", "timeout": 0.3}
        )
        outcome: list[Any] = []

        def call() -> None:
            try:
                node.run()
            except Exception as exc:  # asserted below
                outcome.append(exc)

        worker = threading.Thread(target=call, daemon=True)
        worker.start()
        worker.join(8)
        assert not worker.is_alive(), "the node's timeout was not applied"
    assert len(outcome) == 1 and isinstance(outcome[0], ConnectionLostError)
