"""Database nodes as tools, on real PostgreSQL and Redis: the model supplies values only,
and whatever it writes reaches the server as bound data, never as code."""

from __future__ import annotations

from typing import Any

import pytest

from kaizen.dataflow import PostgresDatabase, PostgresQueryNode, RedisCommandNode
from kaizen.tools import ToolArgumentsError
from kaizen.tools.nodes import node_tool
from tests.utils.pytest_services import ServiceDatabase

TABLE = "inventory"


@pytest.fixture
def stock(postgres_test_db: ServiceDatabase) -> Any:
    with PostgresDatabase(postgres_test_db.url) as db:
        db.execute(f'CREATE TABLE "{TABLE}" (sku text PRIMARY KEY, qty integer NOT NULL)')
        db.execute(f'INSERT INTO "{TABLE}" VALUES (%s, %s), (%s, %s)', ["A-1", 4, "B-2", 0])
    node = PostgresQueryNode(
        "stock",
        {
            "connection": postgres_test_db.url,
            "query": f'SELECT sku, qty FROM "{TABLE}" WHERE sku = %s',
        },
    )
    return node_tool(
        node,
        name="stock_level",
        description="How many units of a product are in stock.",
        parameters={"sku": str},
    )


def test_the_model_fills_in_values_and_reads_rows(stock: Any) -> None:
    assert stock.schema()["function"]["parameters"]["required"] == ["sku"]
    assert stock.call({"sku": "A-1"}) == [{"sku": "A-1", "qty": 4}]
    assert stock.call('{"sku": "nope"}') == []


def test_an_injection_attempt_is_inert(stock: Any, postgres_test_db: ServiceDatabase) -> None:
    for attack in ("' OR '1'='1", "A-1'; DROP TABLE inventory; --", "A-1\\'"):
        assert stock.call({"sku": attack}) == [], attack
    with PostgresDatabase(postgres_test_db.url) as db:
        assert len(db.execute(f'SELECT * FROM "{TABLE}"')) == 2, "the table survived"


def test_values_of_the_wrong_type_never_reach_the_server(stock: Any) -> None:
    with pytest.raises(ToolArgumentsError, match="sku"):
        stock.call({"sku": ["A-1"]})


def test_a_redis_command_tool(redis_clean: Any, redis_service: Any) -> None:
    index = redis_clean.connection_pool.connection_kwargs["db"]
    url = f"redis://{redis_service.host}:{redis_service.port}/{index}"
    redis_clean.set("kzt:price:A-1", "9.5")
    node = RedisCommandNode("price", {"connection": url, "command": "GET"})
    price = node_tool(node, name="price", description="A product's price.", parameters={"key": str})
    assert price.call({"key": "kzt:price:A-1"}) == "9.5"
    assert price.call({"key": "kzt:price:A-1 FLUSHALL"}) is None, "one key, not a command"
    assert redis_clean.get("kzt:price:A-1") == "9.5"
