"""integration_helpers without services: polling deadlines, per-node judgement of workflow
runs, validation, and the coordination adapter over every pattern (on the mock LLM)."""

from __future__ import annotations

import asyncio
import itertools
import time
from collections.abc import Iterator

import pytest

from kaizen.workflow import WorkflowBuilder
from tests.utils import test_fixtures as tf
from tests.utils.integration_helpers import (
    ConditionTimeout,
    MultiAgentCoordinationTestSuite,
    WorkflowExecutionResult,
    _judge,
    execute_workflow,
    execute_workflow_sync,
    validate_workflow_execution,
    wait_for_condition,
    wait_for_condition_async,
)
from tests.utils.mock_providers import MockLLMProvider, TimeoutFault

# --- wait_for_condition ---------------------------------------------------------------------


def test_returns_the_first_truthy_value() -> None:
    values = iter([0, None, "", "ready"])
    assert wait_for_condition(lambda: next(values), timeout=5, interval=0.001) == "ready"


def test_times_out_at_the_deadline_with_what_it_saw() -> None:
    started = time.monotonic()
    with pytest.raises(
        ConditionTimeout, match=r"queue drained: not true within 0.2s .*last value 0"
    ):
        wait_for_condition(lambda: 0, timeout=0.2, interval=0.02, message="queue drained")
    elapsed = time.monotonic() - started
    assert 0.2 <= elapsed < 2.0


def test_ignored_exceptions_mean_not_yet() -> None:
    calls = itertools.count()

    def probe() -> bool:
        if next(calls) < 3:
            raise ConnectionRefusedError("not up")
        return True

    assert wait_for_condition(probe, timeout=5, interval=0.001, ignore=(ConnectionRefusedError,))


def test_ignored_exception_is_reported_at_timeout() -> None:
    def probe() -> bool:
        raise ConnectionRefusedError("still down")

    with pytest.raises(ConditionTimeout, match="last error ConnectionRefusedError: still down"):
        wait_for_condition(probe, timeout=0.05, interval=0.01, ignore=(ConnectionRefusedError,))


def test_other_exceptions_propagate() -> None:
    with pytest.raises(ZeroDivisionError):
        wait_for_condition(lambda: 1 / 0, timeout=1)


@pytest.mark.parametrize(("timeout", "interval"), [(0, 0.1), (-1, 0.1), (1, 0)])
def test_bad_arguments(timeout: float, interval: float) -> None:
    with pytest.raises(ValueError):
        wait_for_condition(lambda: True, timeout=timeout, interval=interval)


async def test_async_accepts_sync_and_async_predicates() -> None:
    state = {"n": 0}

    async def ready() -> int:
        state["n"] += 1
        return state["n"] if state["n"] >= 3 else 0

    assert await wait_for_condition_async(ready, timeout=5, interval=0.001) == 3
    assert await wait_for_condition_async(lambda: "x", timeout=1) == "x"


async def test_async_bounds_a_hanging_predicate() -> None:
    async def hangs() -> bool:
        await asyncio.Event().wait()
        return True

    started = time.monotonic()
    with pytest.raises(ConditionTimeout, match="hangs"):
        await wait_for_condition_async(hangs, timeout=0.2, interval=0.05)
    assert time.monotonic() - started < 2.0


async def test_async_times_out() -> None:
    with pytest.raises(ConditionTimeout, match="never"):
        await wait_for_condition_async(lambda: False, timeout=0.1, interval=0.01, message="never")


# --- workflow judgement ---------------------------------------------------------------------


def _pipeline(fail: bool = False) -> WorkflowBuilder:
    def first(n: int) -> int:
        if fail:
            raise RuntimeError("first node broke")
        return n + 1

    wf = WorkflowBuilder()
    wf.add_node("PythonCodeNode", "a", {"function": first})
    wf.add_node("PythonCodeNode", "b", {"function": lambda x: x * 2})
    wf.add_node("PythonCodeNode", "c", {"function": lambda: "independent"})
    wf.add_connection("a", "result", "b", "x")
    return wf


async def test_successful_run_is_judged_per_node() -> None:
    result = await execute_workflow(_pipeline(), {"a": {"n": 1}})
    assert result.success
    assert result.node_status == {"a": "ok", "b": "ok", "c": "ok"}
    assert result.outputs("b") == {"result": 4}
    assert result.run_id and result.execution_time_ms > 0
    validate_workflow_execution(
        result, expected_nodes=["a", "b"], expected_outputs={"b": ["result"]}
    )


async def test_failed_node_makes_success_false_with_node_errors() -> None:
    result = await execute_workflow(_pipeline(fail=True), {"a": {"n": 1}})
    assert not result.success
    assert result.failed_nodes == ("a",)
    assert result.skipped_nodes == ("b",)
    assert result.node_status["c"] == "ok"
    assert result.errors["a"] == "RuntimeError: first node broke"
    assert "a: RuntimeError" in result.summary()
    with pytest.raises(KeyError, match="status: failed"):
        result.outputs("a")


def test_sync_runtime_is_judged_the_same() -> None:
    ok = execute_workflow_sync(_pipeline(), {"a": {"n": 2}})
    assert ok.success and ok.outputs("b") == {"result": 6}
    bad = execute_workflow_sync(_pipeline(fail=True), {"a": {"n": 2}})
    assert not bad.success and bad.failed_nodes == ("a",)


def test_agent_outputs_are_revalidated_against_the_signature() -> None:
    from kaizen import Kaizen

    provider = MockLLMProvider(name="mock-judge")
    with provider.registered():
        agent = Kaizen().create_agent(
            "qa", {"model": "m", "provider": "mock-judge"}, signature="q -> answer, n: int"
        )
        workflow = agent.to_workflow().build()
        bad = _judge(
            workflow, {"qa": {"answer": "x", "n": "not an int"}}, "r1", time.perf_counter(), None
        )
        good = _judge(workflow, {"qa": {"answer": "x", "n": 3}}, "r2", time.perf_counter(), None)
    assert not bad.success
    assert bad.node_status == {"qa": "ok"}
    assert any(v.startswith("n:") for v in bad.validation_errors["qa"])
    assert good.success


def test_empty_result_is_not_success() -> None:
    result = WorkflowExecutionResult({}, "r", 0.0, {})
    assert not result.success


def test_validate_lists_every_problem() -> None:
    result = execute_workflow_sync(_pipeline(fail=True), {"a": {"n": 1}})
    with pytest.raises(AssertionError) as info:
        validate_workflow_execution(
            result,
            expected_nodes=["a", "b", "c"],
            expected_outputs={"c": ["result", "extra"]},
            max_execution_time_ms=0.0,
        )
    text = str(info.value)
    for fragment in (
        "run failed",
        "did not succeed: a, b",
        "lacks outputs ['extra']",
        "limit 0 ms",
    ):
        assert fragment in text
    validate_workflow_execution(result, allow_failures=True, expected_nodes=["c"])
    with pytest.raises(TypeError, match="WorkflowExecutionResult"):
        validate_workflow_execution({"a": 1})  # type: ignore[arg-type]


# --- the coordination adapter, on the mock LLM ----------------------------------------------

COORDINATION = {
    "sequential": (
        [("extractor", "extract_entities"), ("summarizer", "summarize_entities")],
        {"text": "Ada met Charles."},
        {},
    ),
    "parallel": ([(f"c{i}", "classify_sentiment") for i in range(3)], {"text": "fine"}, {}),
    "supervisor_worker": (
        [("boss", "aggregate"), ("w1", "qa"), ("w2", "qa")],
        {"tasks": [{"question": "one?"}, {"question": "two?"}, {"question": "three?"}]},
        {},
    ),
    "consensus": ([(f"v{i}", "vote") for i in range(5)], {"proposal": "ship it"}, {}),
    "debate": (
        [("pro", "argue"), ("con", "argue"), ("judge", "judge")],
        {"topic": "tabs or spaces"},
        {"rounds": 2},
    ),
    "handoff": ([(f"t{i}", "escalate") for i in range(3)], {"issue": "login"}, {}),
}


class TestCoordinationSuiteOnMock(MultiAgentCoordinationTestSuite):
    required_services = ()
    kaizen_config = "minimal"

    @pytest.fixture(autouse=True)
    def _mock_llm(self) -> Iterator[MockLLMProvider]:
        provider = MockLLMProvider(name="mock", seed=5)
        with provider.registered():
            self.mock = provider
            yield provider

    def test_every_framework_pattern_is_covered(self) -> None:
        assert set(self.coordination_patterns()) == set(COORDINATION)
        assert set(self.coordination_patterns()) == set(tf.COORDINATION_PATTERNS)

    @pytest.mark.parametrize("pattern", sorted(COORDINATION))
    async def test_pattern_runs_and_records_agents(self, pattern: str) -> None:
        specs, inputs, options = COORDINATION[pattern]
        agents = await self.create_agent_team(specs, config={"provider": "mock"})
        outcome = await self.execute_coordination_workflow(agents, pattern, inputs, **options)
        assert outcome.success, outcome.error
        assert outcome.result.pattern == pattern
        assert set(outcome.agents_involved) <= {a.agent_id for a in agents}
        assert outcome.agents_involved
        assert len(self.mock.calls) == len(outcome.steps)

    async def test_team_from_a_scenario_with_prefix(self) -> None:
        scenario = tf.KaizenTestDataManager().multi_agent_scenario("consensus")
        agents = await self.create_agent_team(scenario, prefix="x_", config={"provider": "mock"})
        assert [a.agent_id for a in agents] == [f"x_voter_{i}" for i in range(5)]
        outcome = await self.execute_coordination_workflow(agents, "consensus", scenario.inputs[0])
        assert outcome.success
        assert sum(outcome.result.tally.values()) == 5  # every vote was counted
        assert set(outcome.result.votes) == {a.agent_id for a in agents}

    async def test_failing_pattern_is_reported_not_raised(self) -> None:
        agents = await self.create_agent_team(
            [("s1", "extract_entities"), ("s2", "summarize_entities")], config={"provider": "mock"}
        )
        self.mock.inject(TimeoutFault(), times=None)
        outcome = await self.execute_coordination_workflow(agents, "sequential", {"text": "t"})
        assert not outcome.success
        assert "ProviderTimeoutError" in str(outcome.error)
        assert outcome.steps and outcome.steps[0].status == "failed"

    async def test_unknown_pattern(self) -> None:
        with pytest.raises(ValueError, match="unknown pattern 'round_robin'"):
            await self.execute_coordination_workflow([], "round_robin", {})

    async def test_agents_are_removed_after_each_test_part_one(self) -> None:
        await self.create_test_agent("cleanup_probe", {"provider": "mock"})
        assert "cleanup_probe" in self.kaizen
        type(self)._probe_kaizen = self.kaizen  # checked by the next test

    def test_agents_are_removed_after_each_test_part_two(self) -> None:
        previous = type(self).__dict__.get("_probe_kaizen")
        assert previous is not None and "cleanup_probe" not in previous

    async def test_execute_agent_workflow_judges_the_agent_node(self) -> None:
        agent = await self.create_test_agent("solo", {"provider": "mock"}, signature="q -> a")
        result = await self.execute_agent_workflow(agent, {"q": "hi"})
        assert result.success and set(result.outputs("solo")) == {"a"}
        self.mock.inject(TimeoutFault(), times=None)
        failed = await self.execute_agent_workflow(agent, {"q": "hi"})
        assert not failed.success
        assert failed.errors["solo"].startswith("ProviderTimeoutError")

    def test_suite_is_wired_to_the_configured_endpoint(self) -> None:
        assert self.ollama_base_url == tf.ollama_base_url()
        config = self.agent_config()
        assert config.base_url == self.ollama_base_url and config.model == self.ollama_model
        assert self.kaizen.config == tf.minimal_test_config()
