"""No credential of a database URL/DSN reaches a repr, an error message or a traceback of
kaizen's database clients, nodes or audit store (issue 10, item 12). Every failing call
below is refused locally or aimed at a closed port on 127.0.0.1."""

from __future__ import annotations

import socket
import traceback
from collections.abc import Callable
from typing import Any

import pytest

import kaizen.dataflow  # noqa: F401  (registers the node types)
from kaizen import LocalRuntime, WorkflowBuilder
from kaizen._redact import REDACTED, redact, safe_cause
from kaizen.audit import AuditTrail, PostgresAuditStore
from kaizen.dataflow import MongoDatabase, MySQLDatabase, PostgresDatabase, RedisDatabase
from kaizen.errors import KaizenError

SECRET = "S3cr3t-pw"


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


PORT = _closed_port()


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (f"mongodb://admin:{SECRET}@127.0.0.1:1/db", "mongodb://admin:***@127.0.0.1:1/db"),
        (f"got 'redis://:{SECRET}@h:6379/0'", "got 'redis://:***@h:6379/0'"),
        ("mysql://u:p@ss@h/db", "mysql://u:***@h/db"),  # an unescaped '@' in the password
        (f"host=h password={SECRET} dbname=x", "host=h password=*** dbname=x"),
        (
            f"postgresql://h/x?password={SECRET}&sslmode=off",
            "postgresql://h/x?password=***&sslmode=off",
        ),
        (f"password='{SECRET} x' user=u", "password=*** user=u"),
        (
            "postgresql://u@h:5432/x and http://h:80/a@b",
            "postgresql://u@h:5432/x and http://h:80/a@b",
        ),
    ],
)
def test_redact_hides_url_and_key_passwords(text: str, expected: str) -> None:
    assert redact(text) == expected


def test_redact_hides_known_secrets_but_not_short_ones() -> None:
    assert redact(f"driver said: bad password {SECRET}", SECRET) == "driver said: bad password ***"
    assert redact("a b c", "a") == "a b c"  # a 1-char secret would garble every message
    # the documented floor: 4 characters are hidden, 3 are left alone
    assert redact("code abcd sent", "abcd") == "code *** sent"
    assert redact("code abc sent", "abc") == "code abc sent"


def test_safe_cause_chains_only_a_cause_that_shows_no_credential() -> None:
    clean = OSError("connection refused by 127.0.0.1:5434")
    assert safe_cause(clean) is clean  # the driver's reason stays in the traceback
    for leaky in (
        ValueError(f"cannot parse postgresql://u:{SECRET}@h/x"),
        RuntimeError(f"password={SECRET} was rejected"),
    ):
        assert safe_cause(leaky) is None, leaky


def _fails(call: Callable[[], Any]) -> BaseException:
    with pytest.raises(Exception) as info:
        call()
    return info.value


def _node_run(node_type: str, config: dict[str, Any]) -> None:
    wf = WorkflowBuilder()
    wf.add_node(node_type, "n", config)
    LocalRuntime().execute(wf.build())


FAILURES: dict[str, Callable[[], Any]] = {
    "mongo-scheme": lambda: MongoDatabase(f"http://admin:{SECRET}@127.0.0.1:{PORT}", "d"),
    "mongo-bytes": lambda: MongoDatabase(f"mongodb://a:{SECRET}@h".encode(), "d"),  # type: ignore[arg-type]
    "mongo-closed": lambda: MongoDatabase(
        f"mongodb://admin:{SECRET}@127.0.0.1:{PORT}/?authSource=admin", "d", timeout_ms=200
    ).run("count", "c"),
    "redis-scheme": lambda: RedisDatabase(f"http://:{SECRET}@127.0.0.1:{PORT}"),
    "redis-closed": lambda: RedisDatabase(
        f"redis://:{SECRET}@127.0.0.1:{PORT}", timeout=0.5
    ).command("GET", "k"),
    "postgres-closed": lambda: PostgresDatabase(
        f"postgresql://admin:{SECRET}@127.0.0.1:{PORT}/db", connect_timeout=1
    ).execute("SELECT 1"),
    "postgres-kv-closed": lambda: PostgresDatabase(
        f"host=127.0.0.1 port={PORT} user=u password={SECRET} connect_timeout=1"
    ).execute("SELECT 1"),
    "postgres-bad-option": lambda: PostgresDatabase(
        f"postgresql://admin:{SECRET}@127.0.0.1:{PORT}/db?sslmode=bogus"
    ).execute("SELECT 1"),
    "mysql-closed": lambda: MySQLDatabase(
        f"mysql://u:{SECRET}@127.0.0.1:{PORT}/db", connect_timeout=1
    ).execute("SELECT 1"),
    "mysql-scheme": lambda: MySQLDatabase(f"mysq://u:{SECRET}@127.0.0.1:{PORT}/db").execute(
        "SELECT 1"
    ),
    "audit-closed": lambda: AuditTrail(
        PostgresAuditStore(f"postgresql://u:{SECRET}@127.0.0.1:{PORT}/x", connect_timeout=1)
    ).record("x", actor="a", action="b"),
    "node-mongo": lambda: _node_run(
        "MongoDBNode",
        {
            "connection": f"mongodb://admin:{SECRET}@127.0.0.1:{PORT}",
            "database": "d",
            "collection": "c",
            "operation": "count",
            "timeout_ms": 200,
        },
    ),
    "node-postgres": lambda: _node_run(
        "PostgresQueryNode",
        {"connection": f"postgresql://u:{SECRET}@127.0.0.1:{PORT}/x", "query": "SELECT 1"},
    ),
}


@pytest.mark.parametrize("name", sorted(FAILURES))
def test_no_secret_in_error_or_traceback(name: str) -> None:
    exc = _fails(FAILURES[name])
    assert isinstance(exc, KaizenError), f"{type(exc).__name__}: {exc}"
    shown = "".join(traceback.format_exception(exc))  # message, repr and chained causes
    assert SECRET not in shown, shown
    assert SECRET not in repr(exc)


def test_reprs_show_the_endpoint_never_the_password() -> None:
    url = f"postgresql://admin:{SECRET}@127.0.0.1:{PORT}/db"
    objects = [
        PostgresDatabase(url),
        MySQLDatabase(f"mysql://u:{SECRET}@127.0.0.1:{PORT}/db"),
        MongoDatabase(f"mongodb://admin:{SECRET}@127.0.0.1:{PORT}", "d"),
        RedisDatabase(f"redis://:{SECRET}@127.0.0.1:{PORT}/0"),
        PostgresAuditStore(url),
    ]
    for obj in objects:
        assert SECRET not in repr(obj) and f"127.0.0.1:{PORT}" in repr(obj), repr(obj)
    assert SECRET not in repr(AuditTrail(objects[-1]))  # type: ignore[arg-type]


def test_audit_payload_strings_lose_url_passwords() -> None:
    entry = AuditTrail().record(
        "x", actor="a", action="b", payload={"error": f"cannot reach redis://:{SECRET}@h:1"}
    )
    assert entry.payload["error"] == f"cannot reach redis://:{REDACTED}@h:1"


def test_a_hint_is_shown_as_written_and_the_message_still_redacted() -> None:
    from kaizen.dataflow import InvalidConnectionError

    err = InvalidConnectionError(
        "bad mysql://root:hunter22@h:x/db", database="mysql", part="port", hint="a://u:p@h"
    )
    assert str(err) == "mysql: connection port: bad mysql://root:***@h:x/db; write a://u:p@h"
    assert err.part == "port"
