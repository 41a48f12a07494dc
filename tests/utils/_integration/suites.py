"""`IntegrationTestSuite` and `MultiAgentCoordinationTestSuite`: base classes for
real-stack tests. They never start a service: the service plugin does, once per run."""

from __future__ import annotations

import os
import time
from collections.abc import Iterator, Mapping, Sequence
from typing import TYPE_CHECKING, Any, ClassVar

import pytest

from .results import CoordinationExecutionResult, WorkflowExecutionResult, execute_workflow
from .simulator import ErrorSimulator

if TYPE_CHECKING:
    from kaizen.agent import Agent
    from kaizen.config import AgentConfig, KaizenConfig
    from kaizen.framework import Kaizen
    from kaizen.signatures import Signature
    from kaizen.workflow import Workflow, WorkflowBuilder
    from tests.utils._services.stack import ServiceStatus


def _must_have_services(config: pytest.Config) -> bool:
    try:
        required = bool(config.getoption("--require-services"))
    except ValueError:
        required = False
    return required or os.environ.get("CI", "").lower() == "true"


def _bring_up(request: pytest.FixtureRequest, names: Sequence[str]) -> dict[str, ServiceStatus]:
    """The services through the service plugin (`tests.utils.pytest_services.require`): the
    run's one stack starts them once; unreachable means skip with the reason, or fail under
    CI=true / --require-services. Without the plugin `required_services` cannot be honoured,
    which is a usage error, never a silent pass."""
    if not names:
        return {}
    plugin = request.config.pluginmanager.get_plugin("tests.utils.pytest_services")
    if plugin is None:
        raise pytest.UsageError(
            f"{request.node.nodeid}: required_services={list(names)} needs the plugin "
            "tests.utils.pytest_services; list it in the root conftest.py pytest_plugins"
        )
    return dict(plugin.require(request.config, list(names)))


# --- the suites -----------------------------------------------------------------------------


class IntegrationTestSuite:
    """Base class for real-stack tests: no `__init__`, so pytest collects every subclass.

    Class attributes: `required_services` (names from the service stack), `kaizen_config`
    (a preset name from test_fixtures.CONFIG_PRESETS, a KaizenConfig or a mapping).
    Per test: `self.kaizen` (wired to the real Ollama endpoint and model),
    `self.services` (name -> status from the service plugin), `self.errors`
    (an `ErrorSimulator`, restored after the test), `self.ollama_base_url`,
    `self.ollama_model`. Agents created with `create_test_agent` are removed afterwards.
    """

    required_services: ClassVar[Sequence[str]] = ("ollama",)
    kaizen_config: ClassVar[str | KaizenConfig | Mapping[str, Any]] = "integration"

    kaizen: Kaizen
    services: dict[str, ServiceStatus]
    errors: ErrorSimulator
    ollama_base_url: str
    ollama_model: str

    @pytest.fixture(autouse=True)
    def _kaizen_integration_suite(self, request: pytest.FixtureRequest) -> Iterator[None]:
        from kaizen import Kaizen
        from tests.utils import test_fixtures as tf

        self.services = _bring_up(request, list(self.required_services))
        config = self.kaizen_config
        if isinstance(config, str):
            config = tf.CONFIG_PRESETS[config]()
        self.kaizen = Kaizen(config=config)
        self.ollama_base_url = tf.ollama_base_url()
        self.ollama_model = tf.ollama_model()
        self.errors = ErrorSimulator()
        self._created_agents: list[str] = []
        try:
            yield
        finally:
            for agent_id in self._created_agents:
                if agent_id in self.kaizen:
                    self.kaizen.remove_agent(agent_id)
            self.errors.restore_all()

    def agent_config(self, config: Mapping[str, Any] | None = None) -> AgentConfig:
        """The local-Ollama agent config with `config` applied on top (validated)."""
        from tests.utils.test_fixtures import local_ollama_agent_config

        return local_ollama_agent_config(**dict(config or {}))

    async def create_test_agent(
        self,
        agent_id: str,
        config: Mapping[str, Any] | None = None,
        *,
        signature: type[Signature] | str | None = None,
    ) -> Agent:
        """An agent on the real endpoint (`config` overrides the local-Ollama defaults)."""
        agent = self.kaizen.create_agent(agent_id, self.agent_config(config), signature=signature)
        self._created_agents.append(agent_id)
        return agent

    async def execute_agent_workflow(
        self, agent: Agent, inputs: Mapping[str, Any]
    ) -> WorkflowExecutionResult:
        """Run the agent's own one-node workflow on the async runtime, judged per node."""
        return await execute_workflow(agent.to_workflow(), {agent.agent_id: dict(inputs)})

    async def execute_workflow(
        self,
        workflow: Workflow | WorkflowBuilder,
        parameters: Mapping[str, Mapping[str, Any]] | None = None,
    ) -> WorkflowExecutionResult:
        return await execute_workflow(workflow, parameters)


class MultiAgentCoordinationTestSuite(IntegrationTestSuite):
    """Adds teams and the coordination patterns of `kaizen.coordination`, on the real LLM."""

    @staticmethod
    def coordination_patterns() -> tuple[str, ...]:
        from kaizen.coordination import PATTERNS

        return tuple(PATTERNS)

    async def create_agent_team(
        self,
        team: Any,
        *,
        prefix: str = "",
        config: Mapping[str, Any] | None = None,
    ) -> list[Agent]:
        """Agents for a team: a `DataScenario`, or specs `(agent_id, signature)` /
        `{"agent_id":..., "signature":..., "config": {...}}`. Removed after the test."""
        from tests.utils.test_fixtures import SIGNATURES, DataScenario

        specs: list[tuple[str, str, Mapping[str, Any]]] = []
        if isinstance(team, DataScenario):
            specs = [(a.agent_id, a.signature_text, dict(a.overrides)) for a in team.agents]
        else:
            for spec in team:
                if isinstance(spec, Mapping):
                    specs.append((spec["agent_id"], spec["signature"], spec.get("config", {})))
                else:
                    agent_id, signature = spec
                    specs.append((agent_id, signature, {}))
        agents = []
        for agent_id, signature, overrides in specs:
            text = SIGNATURES.get(signature, signature)
            merged = {**dict(config or {}), **dict(overrides)}
            agents.append(await self.create_test_agent(prefix + agent_id, merged, signature=text))
        return agents

    async def execute_coordination_workflow(
        self,
        agents: Sequence[Agent],
        pattern: str,
        inputs: Mapping[str, Any],
        **options: Any,
    ) -> CoordinationExecutionResult:
        """Run `pattern` over `agents` (for debate: proponent, opponent, judge; for
        supervisor_worker the first agent supervises unless `supervisor=` is given)."""
        from kaizen.coordination import PATTERNS, CoordinationError

        if pattern not in PATTERNS:
            raise ValueError(f"unknown pattern {pattern!r}; use one of {', '.join(PATTERNS)}")
        agents = list(agents)
        if pattern == "supervisor_worker" and "supervisor" not in options and len(agents) > 1:
            options["supervisor"] = agents[0]
            agents = agents[1:]
        if pattern == "debate":
            proponent, opponent, judge = agents
            runner = self.kaizen.debate(proponent, opponent, judge, **options)
        else:
            runner = getattr(self.kaizen, pattern)(agents, **options)
        started = time.perf_counter()
        try:
            result = await runner.arun(**dict(inputs))
        except CoordinationError as exc:
            return CoordinationExecutionResult(
                pattern, False, (time.perf_counter() - started) * 1000, None, exc
            )
        return CoordinationExecutionResult(
            pattern, bool(result.success), (time.perf_counter() - started) * 1000, result, None
        )
