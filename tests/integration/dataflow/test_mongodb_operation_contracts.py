"""MongoDatabase / MongoDBNode against the real MongoDB-wire server: filters, sort, limit
and projection take effect, updates and deletes report counts, every operation of a
transaction runs in its session (reads see its writes; an abort leaves nothing), and the
node passes its config options through."""

from __future__ import annotations

from typing import Any

import pytest

from kaizen.dataflow import MongoDatabase, UnsafeQueryError
from kaizen.dataflow.mongodb import MongoDBNode

pytestmark = pytest.mark.requires_services("mongodb")

C = "docs"


def _seed(db: MongoDatabase) -> None:
    db.run("insert_many", C, documents=[{"n": n, "tag": "t", "x": n * 10} for n in (2, 3, 1)])


def test_find_sort_limit_and_find_one(mongodb_service: Any, mongodb_test_db: Any) -> None:
    with MongoDatabase(mongodb_service.url, mongodb_test_db.name) as db:
        _seed(db)
        top = db.run("find", C, sort=[("n", -1)], limit=2, projection={"_id": 0, "n": 1})
        one = db.run("find_one", C, filter={"n": 3}, projection=["x"])
    assert top == [{"n": 3}, {"n": 2}]
    assert one is not None and one["x"] == 30 and "n" not in one


def test_update_and_delete_counts(mongodb_service: Any, mongodb_test_db: Any) -> None:
    with MongoDatabase(mongodb_service.url, mongodb_test_db.name) as db:
        _seed(db)
        updated = db.run("update_many", C, filter={"n": {"$gt": 1}}, update={"$inc": {"x": 1}})
        one = db.run("delete_one", C, filter={"tag": "t"})
        many = db.run("delete_many", C, filter={"tag": "t"})
    assert (updated["matched"], updated["modified"]) == (2, 2)
    assert (one, many) == ({"deleted": 1}, {"deleted": 2})


def test_transaction_reads_its_own_writes(mongodb_service: Any, mongodb_test_db: Any) -> None:
    with MongoDatabase(mongodb_service.url, mongodb_test_db.name) as db:
        out = db.transaction(
            [
                {"operation": "insert_many", "collection": C, "documents": [{"k": 1}, {"k": 2}]},
                {"operation": "count", "collection": C},
                {"operation": "find", "collection": C, "projection": {"_id": 0}},
                {"operation": "find_one", "collection": C, "filter": {"k": 2}},
            ]
        )
    assert out[1] == 2
    assert out[2] == [{"k": 1}, {"k": 2}]
    assert out[3] is not None and out[3]["k"] == 2


def test_aborted_transaction_leaves_no_insert_many(
    mongodb_service: Any, mongodb_test_db: Any
) -> None:
    with MongoDatabase(mongodb_service.url, mongodb_test_db.name) as db:
        with pytest.raises(UnsafeQueryError, match="unknown operation"):
            db.transaction(
                [
                    {"operation": "insert_many", "collection": C, "documents": [{"k": 1}]},
                    {"collection": C},
                ]
            )
        assert db.run("count", C) == 0


def test_node_passes_config_options(mongodb_service: Any, mongodb_test_db: Any) -> None:
    base = {"connection": mongodb_service.url, "database": mongodb_test_db.name}
    with MongoDatabase(mongodb_service.url, mongodb_test_db.name) as db:
        _seed(db)
    find = MongoDBNode(
        "f",
        {
            **base,
            "collection": C,
            "operation": "find",
            "projection": {"_id": 0, "n": 1},
            "sort": [("n", 1)],
            "limit": 2,
        },
    )
    assert find.run(filter={"tag": "t"}) == {"result": [{"n": 1}, {"n": 2}]}
    upsert = MongoDBNode("u", {**base, "collection": C, "operation": "update_one", "upsert": True})
    out = upsert.run(filter={"n": 9}, update={"$set": {"x": 90}})["result"]
    assert out["matched"] == 0 and isinstance(out["upserted_id"], str)
    tx = MongoDBNode("t", {**base, "operation": "transaction"})
    result = tx.run(operations=[{"operation": "count", "collection": C, "filter": {"n": 9}}])
    assert result == {"result": [1]}
