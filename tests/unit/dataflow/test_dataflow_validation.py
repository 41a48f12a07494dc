"""Dataflow checks that need no server: refusals happen before anything is sent."""

from __future__ import annotations

import sys

import pytest

import kaizen.dataflow  # noqa: F401  (registers the node types)
from kaizen import WorkflowBuilder
from kaizen.dataflow import (
    DataFlowError,
    InvalidConnectionError,
    MissingDriverError,
    MongoDatabase,
    MySQLDatabase,
    ParameterError,
    PostgresDatabase,
    QueryError,
    RedisDatabase,
    UnsafeQueryError,
)
from kaizen.dataflow._sql import check_params, endpoint_of
from kaizen.dataflow.mongodb import _refuse_scripts
from kaizen.dataflow.result import QueryResult
from kaizen.errors import KaizenError, WorkflowValidationError


def test_errors_are_kaizen_errors() -> None:
    assert issubclass(DataFlowError, KaizenError)
    err = QueryError("boom", database="postgresql", query="SELEC 1", code="42601")
    assert "[42601]" in str(err) and "SELEC 1" in str(err) and err.code == "42601"


@pytest.mark.parametrize("params", ["1; DROP TABLE t", b"x", 42])
def test_non_sequence_params_refused(params: object) -> None:
    with pytest.raises(UnsafeQueryError):
        check_params(params, "postgresql")


def test_params_normalised() -> None:
    assert check_params([1, "a"], "pg") == (1, "a")
    assert check_params({"a": 1}, "pg") == {"a": 1}
    assert check_params(None, "pg") is None


def test_endpoint_hides_password() -> None:
    assert endpoint_of("postgresql://u:secret@db.local:5434/x") == "db.local:5434"
    assert "secret" not in repr(PostgresDatabase("postgresql://u:secret@h:1/x"))


@pytest.mark.parametrize("query", ["", "   ", None])
def test_empty_query_refused(query: object) -> None:
    with pytest.raises(UnsafeQueryError):
        PostgresDatabase("postgresql://u@h:1/x").execute(query)  # type: ignore[arg-type]


def test_query_result_helpers() -> None:
    result = QueryResult(("n",), ({"n": 1}, {"n": 2}), 2)
    assert result.scalar() == 1 and len(result) == 2
    assert result.to_dict()["rows"] == [{"n": 1}, {"n": 2}]
    assert QueryResult((), (), 0).scalar() is None


@pytest.mark.parametrize(
    ("node_type", "config", "match"),
    [
        ("PostgresQueryNode", {"connection": "postgresql://h/x"}, "exactly one"),
        ("PostgresQueryNode", {"connection": "postgresql://h/x", "query": ""}, "non-empty"),
        ("MySQLQueryNode", {"connection": "mysql://h/x", "statements": []}, "non-empty"),
        ("RedisCommandNode", {"connection": "redis://h", "command": "FLUSHALL"}, "refused"),
        (
            "MongoDBNode",
            {"connection": "mongodb://h", "database": "d", "operation": "drop"},
            "operation",
        ),
        (
            "MongoDBNode",
            {"connection": "mongodb://h", "database": "d", "operation": "find"},
            "collection",
        ),
    ],
)
def test_node_config_validated_at_build(node_type: str, config: dict, match: str) -> None:
    wf = WorkflowBuilder()
    wf.add_node(node_type, "n", config)
    with pytest.raises(WorkflowValidationError, match=match):
        wf.build()


def test_mongo_script_operators_refused_at_any_depth() -> None:
    with pytest.raises(UnsafeQueryError, match=r"\$function"):
        _refuse_scripts([{"$match": {"$expr": {"$function": {"body": "x"}}}}], "pipeline")
    _refuse_scripts({"a": {"$in": [1, 2]}}, "filter")  # ordinary operators pass


def test_bad_urls_refused_before_connecting() -> None:
    with pytest.raises(UnsafeQueryError):
        MongoDatabase("http://h", "d")
    with pytest.raises(UnsafeQueryError):
        RedisDatabase("mysql://h")
    with pytest.raises(UnsafeQueryError, match="refused"):
        RedisDatabase("redis://127.0.0.1:1").command("CONFIG", "SET", "x", "y")


def test_missing_driver_names_the_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "psycopg2", None)
    with pytest.raises(MissingDriverError, match=r"kaizen\[postgres\]"):
        PostgresDatabase("postgresql://u@127.0.0.1:1/x").execute("SELECT 1")


def test_import_kaizen_dataflow_does_not_load_drivers() -> None:
    import subprocess

    code = (
        "import sys, kaizen.dataflow; "
        "print(sorted(m for m in ('psycopg2','pymysql','pymongo','redis') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


_JS = {"body": "function() { return 1 }", "args": [], "lang": "js"}


@pytest.mark.parametrize(
    "projection",
    [
        {"x": {"$function": _JS}},
        {"x": {"$cond": [True, {"$accumulator": {"init": "f"}}, 0]}},
        {"$where": "true"},
        ["name", "$where"],
    ],
    ids=["function", "nested-accumulator", "where", "list"],
)
def test_mongo_projection_scripts_refused_before_sending(projection: object) -> None:
    db = MongoDatabase("mongodb://127.0.0.1:1", "d", timeout_ms=200)  # closed port
    try:
        for operation in ("find", "find_one"):
            with pytest.raises(UnsafeQueryError, match=r"projection uses \$"):
                db.run(operation, "c", projection=projection)
    finally:
        db.close()


def test_mongo_node_projection_screened_at_build() -> None:
    wf = WorkflowBuilder()
    wf.add_node(
        "MongoDBNode",
        "n",
        {
            "connection": "mongodb://127.0.0.1:1",
            "database": "d",
            "collection": "c",
            "operation": "find",
            "projection": {"x": {"$function": _JS}},
        },
    )
    with pytest.raises(UnsafeQueryError, match=r"projection uses \$function"):
        wf.build()


def test_mongo_projection_of_another_type_refused() -> None:
    with pytest.raises(UnsafeQueryError, match="projection must be a document or a list"):
        MongoDatabase("mongodb://127.0.0.1:1", "d").run("find", "c", projection="name")


# -- rough error paths mapped to typed errors (issue 10, item 13) ----------------------------


def test_nul_byte_refused_before_connecting() -> None:
    db = PostgresDatabase("postgresql://u@127.0.0.1:1/x")  # closed port: nothing is sent
    with pytest.raises(ParameterError, match=r"statement 1, param 0: .*NUL byte.*bytea"):
        db.execute("SELECT %s", ["a\x00b"])
    with pytest.raises(ParameterError, match=r"statement 2, param 'v'\[1\]"):
        db.transaction([("SELECT 1", None), ("SELECT %(v)s", {"v": ("ok", "x\x00")})])


@pytest.mark.parametrize("dsn", ["mysql://u:pw@127.0.0.1:notaport/db", "mysql://u@h:99999/db"])
def test_mysql_bad_port_is_typed(dsn: str) -> None:
    with pytest.raises(InvalidConnectionError, match=r"connection port: .* is not a port") as info:
        MySQLDatabase(dsn)
    assert info.value.part == "port" and isinstance(info.value, UnsafeQueryError)
    wf = WorkflowBuilder()
    wf.add_node("MySQLQueryNode", "n", {"connection": dsn, "query": "SELECT 1"})
    with pytest.raises(InvalidConnectionError, match="port"):
        wf.build()


def test_mongo_and_redis_bad_port_are_typed() -> None:
    with pytest.raises(InvalidConnectionError, match="connection port"):
        RedisDatabase("redis://:pw@127.0.0.1:notaport/0")
    with (
        MongoDatabase("mongodb://a:pw@127.0.0.1:notaport", "d") as db,
        pytest.raises(InvalidConnectionError, match=r"connection url: .*27017"),
    ):
        db.run("count", "c")


def test_unparsable_postgres_dsn_is_typed() -> None:
    db = PostgresDatabase("host=127.0.0.1 port=1 password=pw0rd-x stray")
    with pytest.raises(InvalidConnectionError, match=r"connection dsn: invalid dsn") as info:
        db.execute("SELECT 1")
    assert "pw0rd-x" not in str(info.value)
