"""MongoDBNode and RedisCommandNode against the real MongoDB-wire server and Redis."""

from __future__ import annotations

import pytest

from kaizen import LocalRuntime, WorkflowBuilder
from kaizen.dataflow import (
    DatabaseConnectionError,
    IntegrityViolationError,
    MongoDatabase,
    QueryError,
    RedisDatabase,
    UnsafeQueryError,
)
from tests.utils._services.ports import free_port

COLLECTION = "docs"  # in the test's own database (mongodb_test_db), dropped with it


@pytest.mark.requires_services("mongodb")
class TestMongo:
    def test_insert_find_typed(self, mongodb_service, mongodb_test_db):
        url, name = mongodb_service.url, mongodb_test_db.name
        with MongoDatabase(url, name) as db:
            ids = db.run("insert_many", COLLECTION, documents=[{"n": 1}, {"n": 2.5}])
            found = db.run("find", COLLECTION, filter={"n": {"$gt": 1}})
            count = db.run("count", COLLECTION)
        assert len(ids["inserted_ids"]) == 2 and all(
            isinstance(i, str) for i in ids["inserted_ids"]
        )
        assert [d["n"] for d in found] == [2.5] and isinstance(found[0]["_id"], str)
        assert count == 2

    def test_injection_attempt_is_inert(self, mongodb_service, mongodb_test_db):
        url, name = mongodb_service.url, mongodb_test_db.name
        with MongoDatabase(url, name) as db:
            db.run("insert_one", COLLECTION, document={"user": "alice"})
            hit = db.run("find", COLLECTION, filter={"user": "' || '1'=='1"})
            literal = db.run("find", COLLECTION, filter={"user": '{"$ne": null}'})
            with pytest.raises(UnsafeQueryError, match=r"\$where"):
                db.run("find", COLLECTION, filter={"$where": "sleep(1000) || true"})
            with pytest.raises(UnsafeQueryError, match="update operators"):
                db.run("update_one", COLLECTION, filter={}, update={"user": "x"})
            assert db.run("count", COLLECTION) == 1
        assert hit == [] and literal == []

    def test_projection_scripts_refused_plain_projection_works(
        self, mongodb_service, mongodb_test_db
    ):
        url, name = mongodb_service.url, mongodb_test_db.name
        js = {"body": "function() { return 'ran' }", "args": [], "lang": "js"}
        with MongoDatabase(url, name) as db:
            db.run("insert_one", COLLECTION, document={"user": "alice", "secret": "s"})
            for operation in ("find", "find_one"):
                with pytest.raises(UnsafeQueryError, match=r"projection uses \$function"):
                    db.run(operation, COLLECTION, projection={"x": {"$function": js}})
            plain = db.run("find", COLLECTION, projection={"user": 1, "_id": 0})
            listed = db.run("find_one", COLLECTION, projection=["user"])
        assert plain == [{"user": "alice"}]
        assert set(listed) == {"_id", "user"}

    def test_transaction_aborts_as_a_whole(self, mongodb_service, mongodb_test_db):
        url, name = mongodb_service.url, mongodb_test_db.name
        with MongoDatabase(url, name) as db:
            db._db()[COLLECTION].create_index("k", unique=True)
            db.run("insert_one", COLLECTION, document={"k": "taken"})
            with pytest.raises(IntegrityViolationError):
                db.transaction(
                    [
                        {
                            "operation": "insert_one",
                            "collection": COLLECTION,
                            "document": {"k": "fresh"},
                        },
                        {
                            "operation": "insert_one",
                            "collection": COLLECTION,
                            "document": {"k": "taken"},
                        },
                    ]
                )
            keys = {d["k"] for d in db.run("find", COLLECTION)}
        assert keys == {"taken"}

    def test_node_writes_documents(self, mongodb_service, mongodb_test_db):
        url, name = mongodb_service.url, mongodb_test_db.name
        import kaizen.dataflow  # noqa: F401

        wf = WorkflowBuilder()
        cfg = {"connection": url, "database": name, "collection": COLLECTION}
        wf.add_node("MongoDBNode", "write", {**cfg, "operation": "insert_one"})
        wf.add_node("MongoDBNode", "count", {**cfg, "operation": "count"})
        results, _ = LocalRuntime().execute(
            wf.build(), {"write": {"document": {"v": 1}}, "count": {"filter": {"v": 1}}}
        )
        assert isinstance(results["write"]["result"]["inserted_id"], str)
        assert results["count"]["result"] in (0, 1)  # independent node: order not guaranteed

    def test_unreachable_server(self) -> None:
        url = f"mongodb://127.0.0.1:{free_port()}/?directConnection=true"
        with (
            MongoDatabase(url, "x", timeout_ms=1500) as db,
            pytest.raises(DatabaseConnectionError, match="cannot connect"),
        ):
            db.run("count", "c")


@pytest.mark.requires_services("redis")
class TestRedis:
    def test_typed_commands(self, redis_url: str) -> None:
        with RedisDatabase(redis_url) as db:
            assert db.command("SET", "s", "héllo") is True
            assert db.command("GET", "s") == "héllo"
            assert db.command("INCRBY", "n", 5) == 5
            db.command("RPUSH", "l", "a", "b")
            assert db.command("LRANGE", "l", 0, -1) == ["a", "b"]

    def test_injection_attempt_is_inert(self, redis_url: str) -> None:
        attack = "x\r\nFLUSHALL\r\nSET pwned 1\r\n"
        with RedisDatabase(redis_url) as db:
            db.command("SET", "keep", "1")
            db.command("SET", "v", attack)
            assert db.command("GET", "v") == attack
            assert db.command("GET", "keep") == "1"
            assert db.command("EXISTS", "pwned") == 0
            with pytest.raises(UnsafeQueryError, match="refused"):
                db.command("FLUSHALL")
            with pytest.raises(UnsafeQueryError, match="single command"):
                db.command("SET a b")

    def test_transaction_and_errors(self, redis_url: str) -> None:
        import kaizen.dataflow  # noqa: F401

        wf = WorkflowBuilder()
        wf.add_node(
            "RedisCommandNode", "tx", {"connection": redis_url, "commands": ["SET", "INCR", "GET"]}
        )
        key = "c"
        results, _ = LocalRuntime().execute(wf.build(), {"tx": {"args": [[key, 1], [key], [key]]}})
        assert results["tx"]["results"] == [True, 2, "2"]
        with RedisDatabase(redis_url) as db:
            db.command("SET", "txt", "abc")
            with pytest.raises(QueryError, match="not an integer"):
                db.command("INCR", "txt")

    def test_unreachable_server(self) -> None:
        db = RedisDatabase(f"redis://127.0.0.1:{free_port()}/0", timeout=2)
        with pytest.raises(DatabaseConnectionError, match="cannot connect"):
            db.command("PING")
