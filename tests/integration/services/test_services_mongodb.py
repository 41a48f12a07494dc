"""MongoDB (or the MongoDB-wire-compatible server) through the available backend."""

from __future__ import annotations

import uuid

import pymongo
import pytest

from tests.utils import get_mongodb_connection_string
from tests.utils._services import isolation as iso


def test_ping_and_round_trip(mongodb_service) -> None:
    assert mongodb_service.healthy and mongodb_service.version.startswith("MongoDB")
    client = pymongo.MongoClient(get_mongodb_connection_string(), serverSelectionTimeoutMS=5000)
    try:
        assert client.admin.command("ping")["ok"] == 1
    finally:
        client.close()


def test_worker_database_crud_and_aggregation(mongodb_db) -> None:
    assert mongodb_db.name.startswith("kzt_")
    col = mongodb_db["orders"]
    col.delete_many({})
    col.insert_many([{"k": "a", "n": 1}, {"k": "a", "n": 2}, {"k": "b", "n": 5}])
    totals = {
        d["_id"]: d["t"] for d in col.aggregate([{"$group": {"_id": "$k", "t": {"$sum": "$n"}}}])
    }
    assert totals == {"a": 3, "b": 5}


def test_per_test_database_is_dropped(mongodb_client, mongodb_test_db) -> None:
    mongodb_test_db["x"].insert_one({"v": 1})
    assert mongodb_test_db.name in mongodb_client.list_database_names()
    other = iso.test_name()
    mongodb_client[other]["x"].insert_one({"v": 1})
    iso.mongodb_drop_database(mongodb_client, other)
    assert other not in mongodb_client.list_database_names()


def test_cleanup_refuses_foreign_database(mongodb_client) -> None:
    # The foreign database is this test's own victim, not a real one (kailash_test).
    victim = f"victim_{uuid.uuid4().hex[:12]}"
    mongodb_client[victim]["c"].insert_one({"v": 1})
    try:
        with pytest.raises(iso.RefusedCleanupError):
            iso.mongodb_drop_database(mongodb_client, victim)
        assert victim in mongodb_client.list_database_names()
    finally:
        mongodb_client.drop_database(victim)
