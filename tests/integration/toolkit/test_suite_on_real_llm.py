"""IntegrationTestSuite and MultiAgentCoordinationTestSuite on the real Ollama-API server.

The test model is a 270M base model: these tests assert structure (validated outputs,
per-node status, who ran), never content."""

from __future__ import annotations

import pytest

from kaizen.errors import OutputValidationError
from tests.utils import IntegrationTestSuite, MultiAgentCoordinationTestSuite
from tests.utils import test_fixtures as tf
from tests.utils.integration_helpers import validate_workflow_execution


class TestIntegrationSuiteOnRealLLM(IntegrationTestSuite):
    required_services = ["ollama"]

    async def test_real_workflow_execution(self) -> None:
        agent = await self.create_test_agent(
            "toolkit_qa", {"max_tokens": 48}, signature=tf.SIGNATURES["qa_with_context"]
        )
        result = await self.execute_agent_workflow(
            agent, {"question": "What colour is the sky?", "context": "The sky is blue."}
        )
        validate_workflow_execution(
            result,
            expected_nodes=["toolkit_qa"],
            expected_outputs={"toolkit_qa": ["answer", "confidence"]},
        )
        outputs = result.outputs("toolkit_qa")
        assert isinstance(outputs["answer"], str) and isinstance(outputs["confidence"], float)
        assert result.results["toolkit_qa"]["_meta"].usage.total_tokens > 0
        assert len(result.run_id) == 32

    def test_suite_talks_to_the_service_the_plugin_brought_up(self) -> None:
        status = self.services["ollama"]
        assert status.healthy
        assert self.ollama_base_url == f"http://{status.host}:{status.port}"
        assert self.kaizen.config.default_model == self.ollama_model

    async def test_corrupted_model_output_fails_the_node(self) -> None:
        corrupter = self.errors.malformed_llm_output(self.ollama_base_url)
        agent = await self.create_test_agent(
            "toolkit_corrupted",
            {"base_url": corrupter.url, "max_retries": 0, "max_tokens": 32},
            signature=tf.SIGNATURES["score"],
        )
        result = await self.execute_agent_workflow(agent, {"text": "Rate this sentence."})
        assert not result.success
        assert result.failed_nodes == ("toolkit_corrupted",)
        assert isinstance(result.exceptions["toolkit_corrupted"].__cause__, OutputValidationError)
        assert corrupter.corrupted == 1

    async def test_added_latency_trips_the_agent_timeout(self) -> None:
        status = self.services["ollama"]
        proxy = self.errors.add_latency(status.host, status.port, seconds=3.0)
        agent = await self.create_test_agent(
            "toolkit_slow", {"base_url": proxy.url, "timeout": 1.0, "max_retries": 0}
        )
        result = await self.execute_agent_workflow(agent, {"question": "Hello?"})
        assert not result.success
        assert result.errors["toolkit_slow"].startswith("ProviderTimeoutError")


SCENARIO_OPTIONS = {"debate": {"rounds": 1}, "supervisor_worker": {}}
EXPECTED_CALLS = {
    "sequential": 2,
    "parallel": 3,
    "supervisor_worker": 3,  # two tasks, one aggregation
    "consensus": 5,
    "debate": 3,  # one round of two arguments, one verdict
    "handoff": 1,  # tier 0 answers; nothing asks it to escalate
}


class TestCoordinationOnRealLLM(MultiAgentCoordinationTestSuite):
    required_services = ["ollama"]

    @pytest.mark.parametrize("pattern", tf.COORDINATION_PATTERNS)
    async def test_pattern_on_the_real_model(self, pattern: str) -> None:
        scenario = tf.KaizenTestDataManager().multi_agent_scenario(pattern)
        agents = await self.create_agent_team(scenario, prefix="kzt_", config={"max_tokens": 48})
        outcome = await self.execute_coordination_workflow(
            agents, pattern, scenario.inputs[0], **SCENARIO_OPTIONS.get(pattern, {})
        )
        assert outcome.error is None, outcome.error
        assert len(outcome.steps) == EXPECTED_CALLS[pattern]
        assert all(step.status == "ok" for step in outcome.steps)
        assert set(outcome.agents_involved) <= {a.agent_id for a in agents}
        if pattern == "consensus":
            assert sum(outcome.result.tally.values()) + len(outcome.result.abstained) == 5
