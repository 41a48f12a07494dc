"""A tool agent on the real local LLM, answering from a real PostgreSQL table through a
database-node tool. The model is a small base model: assert structure, never content."""

from __future__ import annotations

from typing import Any

import pytest

from kaizen import Kaizen
from kaizen.dataflow import PostgresDatabase, PostgresQueryNode
from kaizen.tools import ToolStep
from kaizen.tools.nodes import node_tool
from tests.integration.tools._runs import run_tool_agent
from tests.utils.pytest_services import ServiceDatabase


@pytest.fixture
def stock_tool(postgres_test_db: ServiceDatabase) -> Any:
    with PostgresDatabase(postgres_test_db.url) as db:
        db.execute('CREATE TABLE "inventory" (sku text PRIMARY KEY, qty integer NOT NULL)')
        db.execute('INSERT INTO "inventory" VALUES (%s, %s)', ["A-1", 4])
    node = PostgresQueryNode(
        "stock",
        {"connection": postgres_test_db.url, "query": 'SELECT qty FROM "inventory" WHERE sku = %s'},
    )
    return node_tool(
        node,
        name="stock_level",
        description="Units in stock for a product SKU.",
        parameters={"sku": str},
    )


@pytest.mark.parametrize("mode", ["async"])  # the sync loop is the same, unit-tested
def test_a_tool_agent_runs_on_the_real_model_and_database(
    ollama_service: Any, stock_tool: Any, mode: str
) -> None:
    """Three seeded runs: every call validates and reads the real table, and a run goes the
    whole loop (call, result, answer from it) before max_steps (measured: 20 of 20 second
    steps answer, tests.benchmarks.measure_tool_calls)."""
    s = ollama_service.settings
    question = "How many units of SKU A-1 are in stock? Call the stock_level tool."
    whole_loops = 0
    for seed in (3, 4, 5):
        config = {
            "model": s.model,
            "base_url": ollama_service.url,
            "seed": seed,
            "temperature": 0.0,
            "max_tokens": 48,
            "max_steps": 4,
            "timeout": 300,
        }
        agent = Kaizen().create_agent(
            "clerk", config, signature="question -> answer", tools=[stock_tool]
        )
        steps, answered = run_tool_agent(agent, question, mode)
        tool_steps = [step for step in steps if isinstance(step, ToolStep)]
        assert steps[0].kind == "model"
        for step in tool_steps:  # the server's grammar makes every call schema-valid
            assert step.name == "stock_level" and step.ok, step.error
            assert isinstance(step.result, list)  # rows from the real table
        assert tool_steps or answered, "the run neither called the tool nor answered"
        whole_loops += bool(tool_steps) and answered
    assert whole_loops, "no run of three called the tool and then answered from its result"
