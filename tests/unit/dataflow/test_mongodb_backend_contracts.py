"""MongoDB backend contracts that need no server: URL and database-name screening, the
client options a `timeout_ms` turns into (pymongo connects lazily), and how pymongo
errors become typed errors."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from pymongo import errors

from kaizen.dataflow import (
    ConnectionLostError,
    DatabaseConnectionError,
    DataFlowError,
    IntegrityViolationError,
    MongoDatabase,
    QueryError,
    UnsafeQueryError,
)
from tests.utils._services.ports import free_port

# A closed loopback port (27017 is where a MongoDB usually listens): a client made here
# must find nothing to talk to.
PORT = free_port()
URL = f"mongodb://127.0.0.1:{PORT}/"


def _raise(exc: BaseException) -> Callable[[], Any]:
    def call() -> Any:
        raise exc

    return call


@pytest.mark.parametrize("url", ["mongodb+srv://cluster.example.net/", URL])
def test_accepted_urls(url: str) -> None:
    assert MongoDatabase(url, "d").url == url


@pytest.mark.parametrize("url", ["MONGODB+SRV://h/", "http://h", None])
def test_other_urls_are_refused(url: Any) -> None:
    with pytest.raises(UnsafeQueryError) as info:
        MongoDatabase(url, "d")
    assert str(info.value) == f"mongodb: connection must be a mongodb:// URL, got {url!r}"
    assert info.value.database == "mongodb"


@pytest.mark.parametrize("name", ["", 5])
def test_database_must_be_a_name(name: Any) -> None:
    with pytest.raises(UnsafeQueryError) as info:
        MongoDatabase(URL, name)
    assert str(info.value) == f"mongodb: database must be a non-empty name, got {name!r}"


@pytest.mark.parametrize(
    ("query", "direct", "replica_set"),
    [
        ("", True, None),
        ("?replicaSet=rs0", None, "rs0"),
        ("?directConnection=false", False, None),
    ],
)
def test_client_options_follow_timeout_and_url(
    query: str, direct: bool | None, replica_set: str | None
) -> None:
    db = MongoDatabase(URL + query, "d", timeout_ms=1200)
    options = db._db().client.options
    db.close()
    assert options.server_selection_timeout == 1.2
    assert options.pool_options.connect_timeout == 1.2
    assert options.pool_options.socket_timeout == 7.2
    assert (options.direct_connection, options.replica_set_name) == (direct, replica_set)


def test_server_selection_timeout_is_cannot_connect() -> None:
    exc = errors.ServerSelectionTimeoutError("127.0.0.1:1: [Errno 111] refused, Timeout: 1s")
    with pytest.raises(DatabaseConnectionError) as info:
        MongoDatabase(URL, "d")._guard(_raise(exc))
    assert type(info.value) is DatabaseConnectionError
    assert str(info.value) == (
        f"mongodb: cannot connect: 127.0.0.1:1: [Errno 111] refused (at 127.0.0.1:{PORT})"
    )
    assert (info.value.database, info.value.endpoint) == ("mongodb", f"127.0.0.1:{PORT}")
    assert info.value.__cause__ is exc


@pytest.mark.parametrize(
    "exc", [errors.AutoReconnect("reset by peer"), errors.ConnectionFailure("reset by peer")]
)
def test_dropped_connection_is_a_lost_connection(exc: Exception) -> None:
    with pytest.raises(ConnectionLostError) as info:
        MongoDatabase(URL, "d")._guard(_raise(exc))
    assert str(info.value) == (
        "mongodb: connection lost during the operation (reset by peer); an open transaction "
        f"was aborted (at 127.0.0.1:{PORT})"
    )
    assert (info.value.database, info.value.endpoint) == ("mongodb", f"127.0.0.1:{PORT}")
    assert info.value.__cause__ is exc


def test_duplicate_key_is_an_integrity_violation() -> None:
    exc = errors.DuplicateKeyError("E11000 raw", 11000, {"errmsg": "E11000 dup key"})
    with pytest.raises(IntegrityViolationError) as info:
        MongoDatabase(URL, "d")._guard(_raise(exc))
    assert str(info.value) == "mongodb: E11000 dup key [11000]; query: write"
    assert (info.value.database, info.value.query, info.value.code) == (
        "mongodb",
        "write",
        "11000",
    )
    assert info.value.__cause__ is exc
    bare = errors.DuplicateKeyError("E11000 raw", 11000)
    with pytest.raises(IntegrityViolationError, match=r"^mongodb: E11000 raw "):
        MongoDatabase(URL, "d")._guard(_raise(bare))


def test_rejected_operation_is_a_query_error() -> None:
    exc = errors.OperationFailure("raw", 2, {"errmsg": "unknown operator: $bad"})
    with pytest.raises(QueryError) as info:
        MongoDatabase(URL, "d")._guard(_raise(exc))
    assert type(info.value) is QueryError
    assert str(info.value) == "mongodb: unknown operator: $bad [2]; query: operation"
    assert (info.value.database, info.value.query, info.value.code) == (
        "mongodb",
        "operation",
        "2",
    )
    assert info.value.__cause__ is exc
    with pytest.raises(QueryError, match=r"^mongodb: raw "):
        MongoDatabase(URL, "d")._guard(_raise(errors.OperationFailure("raw", 2)))


def test_other_pymongo_errors_are_dataflow_errors() -> None:
    exc = errors.InvalidOperation("cannot use a closed client")
    with pytest.raises(DataFlowError) as info:
        MongoDatabase(URL, "d")._guard(_raise(exc))
    assert str(info.value) == "mongodb: InvalidOperation: cannot use a closed client"
    assert info.value.database == "mongodb"
    assert info.value.__cause__ is exc


def test_default_timeout_is_ten_seconds() -> None:
    db = MongoDatabase(URL, "d")
    options = db._db().client.options
    db.close()
    assert options.server_selection_timeout == 10.0


def test_unparsable_port_is_an_invalid_connection() -> None:
    from kaizen.dataflow import InvalidConnectionError

    with pytest.raises(InvalidConnectionError) as info:
        MongoDatabase("mongodb://127.0.0.1:abc/", "d")._db()
    assert (info.value.database, info.value.part) == ("mongodb", "url")
    assert isinstance(info.value.__cause__, ValueError)
    assert str(info.value).startswith("mongodb: connection url: ")
    assert str(info.value).endswith("; write mongodb://user:password@host:27017/")


@pytest.mark.parametrize(
    ("exc", "cls"),
    [
        (errors.DuplicateKeyError("E11000 raw", 11000, {"code": 11000}), IntegrityViolationError),
        (errors.OperationFailure("E11000 raw", 2, {"code": 2}), QueryError),
    ],
)
def test_details_without_errmsg_fall_back_to_the_error_text(
    exc: Exception, cls: type[Exception]
) -> None:
    with pytest.raises(cls, match=r"^mongodb: E11000 raw"):
        MongoDatabase(URL, "d")._guard(_raise(exc))


def _closed() -> MongoDatabase:
    from tests.utils._services.ports import free_port

    return MongoDatabase(f"mongodb://127.0.0.1:{free_port()}/", "d", timeout_ms=300)


@pytest.mark.parametrize(
    ("collection", "args", "message"),
    [
        ("a$b", {}, "collection must be a plain name, got 'a$b'"),
        ("", {}, "collection must be a plain name, got ''"),
        ("c", {"bogus": 1}, "unknown argument(s) bogus for find"),
    ],
)
def test_find_refusals_happen_before_connecting(
    collection: str, args: dict[str, Any], message: str
) -> None:
    with pytest.raises(UnsafeQueryError) as info:
        _closed().run("find", collection, **args)
    assert str(info.value) == f"mongodb: {message}"


def test_insert_many_needs_a_list() -> None:
    with pytest.raises(UnsafeQueryError) as info:
        _closed().run("insert_many", "c", documents={"a": 1})
    assert str(info.value) == "mongodb: documents must be a non-empty list"


@pytest.mark.parametrize("update", [{}, {"v": 1}, {"$set": {"v": 1}, "w": 2}])
def test_update_must_be_operators_only(update: dict[str, Any]) -> None:
    with pytest.raises(UnsafeQueryError) as info:
        _closed().run("update_one", "c", filter={}, update=update)
    assert type(info.value) is UnsafeQueryError
    assert str(info.value) == (
        "mongodb: update must contain only update operators such as $set or $inc "
        "(a plain document would replace the stored one)"
    )
    assert info.value.database == "mongodb"


def test_operator_update_is_sent() -> None:
    with pytest.raises(DatabaseConnectionError):
        _closed().run("update_one", "c", filter={}, update={"$set": {"v": 1}})


def test_node_timeout_ms_bounds_server_selection() -> None:
    import threading

    from kaizen.dataflow.mongodb import MongoDBNode
    from tests.utils._services.ports import free_port

    node = MongoDBNode(
        "n",
        {
            "connection": f"mongodb://127.0.0.1:{free_port()}/",
            "database": "d",
            "collection": "c",
            "operation": "count",
            "timeout_ms": 300,
        },
    )
    outcome: list[BaseException] = []

    def call() -> None:
        try:
            node.run()
        except Exception as exc:  # asserted below
            outcome.append(exc)

    worker = threading.Thread(target=call, daemon=True)
    worker.start()
    worker.join(5)
    assert not worker.is_alive(), "timeout_ms was not applied"
    assert len(outcome) == 1 and isinstance(outcome[0], DatabaseConnectionError)
