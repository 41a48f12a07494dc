"""Shared test data: validated config presets, agent configs, signatures in the one string
grammar, multi-agent scenarios, and database fixtures with per-test isolation (those live in
`tests/utils/_fixtures/tables.py` and are re-exported here).

The module keeps its historical name `test_fixtures.py`, so it must never be collected as
tests: the tier plugin ignores `tests/utils/` and every class here whose name starts with
`Test` sets `__test__ = False` (a unit test proves both).

Endpoints and model names come from `tests/utils/services.env` (through the service
stack's settings, environment overrides included), never from literals here.
"""

from __future__ import annotations

import difflib
import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from types import MappingProxyType
from typing import TYPE_CHECKING, Any

from kaizen.config import AgentConfig, KaizenConfig
from tests.utils._fixtures.tables import (
    MONGO_DOCUMENTS,
    ORDERS_TABLE,
    REDIS_KEYS,
    TABLES,
    TICKETS_TABLE,
    USERS_TABLE,
    SupportsExecute,
    TableFixture,
    isolated_collection,
    isolated_redis_prefix,
    seeded_table,
)
from tests.utils._services.settings import NAME_PREFIX

if TYPE_CHECKING:
    from kaizen.agent import Agent
    from kaizen.framework import Kaizen
    from kaizen.signatures import CompiledSignature, FieldSpec
    from tests.utils._services.settings import Settings

__all__ = [
    "AGENT_CONFIGS",
    "CONFIG_PRESETS",
    "COORDINATION_PATTERNS",
    "MONGO_DOCUMENTS",
    "MULTI_AGENT_SCENARIOS",
    "ORDERS_TABLE",
    "PATTERN_INPUTS",
    "REDIS_KEYS",
    "SIGNATURES",
    "TABLES",
    "TICKETS_TABLE",
    "USERS_TABLE",
    "AgentSpec",
    "DataScenario",
    "KaizenTestDataManager",
    "SupportsExecute",
    "TableFixture",
    "agent_config",
    "enterprise_test_config",
    "integration_test_config",
    "isolated_collection",
    "isolated_redis_prefix",
    "local_ollama_agent_config",
    "minimal_test_config",
    "ollama_base_url",
    "ollama_model",
    "seeded_table",
    "service_settings",
    "signature_to_string",
]

__test__ = False  # nothing in this module is a test

# --- service settings ---------------------------------------------------------------------


def service_settings() -> Settings:
    """The stack's settings (services.env + environment), read fresh on every call so a
    test that overrides an environment variable sees it."""
    from tests.utils.docker_config import get_settings

    return get_settings()


def ollama_base_url() -> str:
    from tests.utils.docker_config import get_ollama_base_url

    return get_ollama_base_url()


def ollama_model() -> str:
    model = service_settings()["ollama"].model
    if not model:
        raise KeyError(
            "KAIZEN_TEST_OLLAMA_MODEL is empty; set it in tests/utils/services.env or the "
            "environment"
        )
    return str(model)


# --- config presets -----------------------------------------------------------------------


def minimal_test_config() -> KaizenConfig:
    """The smallest config that runs an agent: the served model, defaults elsewhere."""
    return KaizenConfig(default_model=ollama_model())


def integration_test_config() -> KaizenConfig:
    """For the real stack on a noisy 2-core machine: generous timeout, INFO logging."""
    return KaizenConfig(
        default_provider="ollama",
        default_model=ollama_model(),
        default_timeout=180.0,
        max_agents=200,
        log_level="INFO",
    )


def enterprise_test_config() -> KaizenConfig:
    """Audit and memory on, seven-year retention: what compliance reports are checked on."""
    return KaizenConfig(
        default_provider="ollama",
        default_model=ollama_model(),
        default_timeout=180.0,
        max_agents=1000,
        audit_enabled=True,
        audit_retention_days=7 * 365,
        memory_enabled=True,
        memory_max_turns=100,
        log_level="INFO",
    )


CONFIG_PRESETS = MappingProxyType(
    {
        "minimal": minimal_test_config,
        "integration": integration_test_config,
        "enterprise": enterprise_test_config,
    }
)


# --- agent configs ------------------------------------------------------------------------


def local_ollama_agent_config(**overrides: Any) -> AgentConfig:
    """An agent on the locked-in local Ollama endpoint and the model it serves.

    Deterministic settings (temperature 0, fixed seed) and a small token budget: the test
    model is a 270M base model, so tests assert structure, never content.
    """
    values: dict[str, Any] = {
        "model": ollama_model(),
        "provider": "ollama",
        "base_url": ollama_base_url(),
        "temperature": 0.0,
        "seed": 7,
        "max_tokens": 96,
        "timeout": 180.0,
        "max_retries": 2,
    }
    values.update(overrides)
    return AgentConfig.from_mapping(values)


def _mock_agent(**overrides: Any) -> AgentConfig:
    return AgentConfig.from_mapping({"model": "mock-model", "provider": "mock", **overrides})


AGENT_CONFIGS = MappingProxyType(
    {
        "local_ollama": local_ollama_agent_config,
        "local_ollama_creative": lambda **o: local_ollama_agent_config(
            **{"temperature": 0.8, "seed": 11, **o}
        ),
        "local_ollama_strict": lambda **o: local_ollama_agent_config(
            **{"max_retries": 3, "max_tokens": 64, **o}
        ),
        "local_ollama_no_retry": lambda **o: local_ollama_agent_config(**{"max_retries": 0, **o}),
        # unit tier: pair with tests.utils.mock_providers.MockLLMProvider(name="mock")
        "mock": _mock_agent,
    }
)


def agent_config(name: str, **overrides: Any) -> AgentConfig:
    """A named agent config with `overrides` applied (validated)."""
    return AGENT_CONFIGS[_known(name, AGENT_CONFIGS, "agent config")](**overrides)


# --- signatures (the one string grammar) --------------------------------------------------

SIGNATURES = MappingProxyType(
    {
        "qa": "question -> answer",
        "qa_with_context": "question, context -> answer, confidence: float",
        "summarize": "text -> summary",
        "classify_sentiment": "text -> label: Literal['positive', 'negative', 'neutral']",
        "extract_entities": "text -> entities: list[str]",
        "score": "text -> score: float, reason: str",
        "triage": "ticket -> category: Literal['billing', 'bug', 'other'], priority: int",
        "translate": "text, target_language -> translation",
        "plan": "goal -> steps: list[str]",
        "vote": "proposal -> vote: Literal['yes', 'no'], reason",
        # the coordination patterns' conventions (kaizen.coordination): debaters may read
        # position/opponent_argument, the judge the transcript, a supervisor tasks/results
        "argue": "topic, position, opponent_argument -> argument",
        "judge": "topic, transcript -> winner: Literal['for', 'against'], rationale",
        "escalate": "issue -> answer, confidence: float",
        "aggregate": "tasks, results -> summary",
        "summarize_entities": "text, entities: list[str] -> summary",
        "keywords": "text -> keywords: list[str], counts: dict[str, int]",
        "optional_note": "question -> answer, note: str?",
        "joke": "-> joke",
    }
)


def signature_to_string(compiled: CompiledSignature) -> str:
    """Render a CompiledSignature back into the string grammar (for round-trip tests)."""

    def side(fields: Iterable[FieldSpec]) -> str:
        return ", ".join(f"{f.name}: {f.type}" for f in fields)

    inputs = side(compiled.inputs)
    return f"{inputs} -> {side(compiled.outputs)}" if inputs else f"-> {side(compiled.outputs)}"


# --- scenarios ----------------------------------------------------------------------------


@dataclass(frozen=True)
class AgentSpec:
    """One agent of a scenario: id, role, signature key (in SIGNATURES) and config name."""

    agent_id: str
    signature: str
    role: str = "worker"
    config: str = "local_ollama"
    overrides: Mapping[str, Any] = field(default_factory=dict)

    @property
    def signature_text(self) -> str:
        return SIGNATURES[_known(self.signature, SIGNATURES, "signature")]

    def agent_config(self) -> AgentConfig:
        return agent_config(self.config, **self.overrides)


@dataclass(frozen=True)
class DataScenario:
    """A named bundle: config preset, agents, inputs, and what a correct run looks like."""

    name: str
    description: str
    preset: str
    agents: tuple[AgentSpec, ...]
    inputs: tuple[Mapping[str, Any], ...]
    pattern: str | None = None
    expected_outputs: tuple[str, ...] = ()
    expected_error: str | None = None
    tags: frozenset[str] = frozenset()

    def config(self) -> KaizenConfig:
        return CONFIG_PRESETS[self.preset]()

    def with_agent_config(self, config: str, **overrides: Any) -> DataScenario:
        """The same scenario with every agent on another config (e.g. "mock" in unit tests)."""
        agents = tuple(replace(a, config=config, overrides=overrides) for a in self.agents)
        return replace(self, agents=agents)

    def create_agents(self, kaizen: Kaizen, *, prefix: str = "") -> list[Agent]:
        """Create the scenario's agents on `kaizen` (ids prefixed, for isolation)."""
        return [
            kaizen.create_agent(
                f"{prefix}{spec.agent_id}", spec.agent_config(), signature=spec.signature_text
            )
            for spec in self.agents
        ]


#: Inputs each pattern supplies to its agents on top of the run's inputs (see the pattern
#: modules in kaizen.coordination); a scenario's agents may declare these.
PATTERN_INPUTS: Mapping[str, frozenset[str]] = MappingProxyType(
    {
        "sequential": frozenset(),  # plus every earlier stage's outputs
        "parallel": frozenset(),
        "supervisor_worker": frozenset({"tasks", "results"}),
        "consensus": frozenset(),
        "debate": frozenset({"position", "round", "opponent_argument", "transcript"}),
        "handoff": frozenset(),
    }
)

COORDINATION_PATTERNS = (
    "sequential",
    "parallel",
    "supervisor_worker",
    "consensus",
    "debate",
    "handoff",
)


def _multi_agent_scenarios() -> dict[str, DataScenario]:
    topic = {"topic": "Should tests use real databases?"}
    return {
        "sequential": DataScenario(
            "sequential",
            "extract entities, then summarise them",
            "integration",
            (
                AgentSpec("extractor", "extract_entities"),
                AgentSpec("summarizer", "summarize_entities"),
            ),
            ({"text": "Ada Lovelace met Charles Babbage in London."},),
            pattern="sequential",
            expected_outputs=("summary",),
        ),
        "parallel": DataScenario(
            "parallel",
            "three independent classifiers fan out, results fan in",
            "integration",
            tuple(AgentSpec(f"classifier_{i}", "classify_sentiment") for i in range(3)),
            ({"text": "The release went smoothly."},),
            pattern="parallel",
            expected_outputs=("label",),
        ),
        "supervisor_worker": DataScenario(
            "supervisor_worker",
            "a supervisor splits a task, workers answer, results are aggregated",
            "integration",
            (
                AgentSpec("supervisor", "aggregate", role="supervisor"),
                AgentSpec("worker_1", "qa"),
                AgentSpec("worker_2", "qa"),
            ),
            (
                {
                    "tasks": [
                        {"question": "Name one benefit of unit tests."},
                        {"question": "Name one benefit of integration tests."},
                    ]
                },
            ),
            pattern="supervisor_worker",
            expected_outputs=("summary",),
        ),
        "consensus": DataScenario(
            "consensus",
            "five voters; the decision is counted against a threshold",
            "integration",
            tuple(AgentSpec(f"voter_{i}", "vote", role="voter") for i in range(5)),
            ({"proposal": "Adopt the new deployment pipeline."},),
            pattern="consensus",
            expected_outputs=("vote",),
        ),
        "debate": DataScenario(
            "debate",
            "two debaters over bounded rounds, then a judge",
            "integration",
            (
                AgentSpec("pro", "argue", role="debater"),
                AgentSpec("con", "argue", role="debater"),
                AgentSpec("judge", "judge", role="judge"),
            ),
            (topic,),
            pattern="debate",
            expected_outputs=("winner",),
        ),
        "handoff": DataScenario(
            "handoff",
            "tiered escalation with a maximum tier",
            "integration",
            tuple(AgentSpec(f"tier_{i}", "escalate", role=f"tier{i}") for i in range(3)),
            ({"issue": "Customer cannot log in."},),
            pattern="handoff",
            expected_outputs=("answer",),
        ),
    }


MULTI_AGENT_SCENARIOS = MappingProxyType(_multi_agent_scenarios())


def _named_scenarios() -> dict[str, DataScenario]:
    return {
        "single_agent": DataScenario(
            "single_agent",
            "one QA agent on the local model",
            "integration",
            (AgentSpec("qa_agent", "qa_with_context"),),
            (
                {"question": "What colour is the sky?", "context": "The sky is blue."},
                {"question": "How many legs has a cat?", "context": "Cats have four legs."},
            ),
            expected_outputs=("answer", "confidence"),
            tags=frozenset({"smoke"}),
        ),
        "multi_agent_coordination": replace(
            MULTI_AGENT_SCENARIOS["supervisor_worker"],
            name="multi_agent_coordination",
            tags=frozenset({"coordination"}),
        ),
        "enterprise_compliance": DataScenario(
            "enterprise_compliance",
            "audited triage agent; the trail must verify and the report be computed",
            "enterprise",
            (AgentSpec("triage_agent", "triage"),),
            (
                {"ticket": "I was charged twice this month."},
                {"ticket": "The app crashes when I upload a photo."},
            ),
            expected_outputs=("category", "priority"),
            tags=frozenset({"audit", "compliance"}),
        ),
        "performance": DataScenario(
            "performance",
            "many short runs of one small signature, for latency and throughput",
            "integration",
            (AgentSpec("perf_agent", "qa", overrides={"max_tokens": 16}),),
            tuple({"question": f"Say the number {i}."} for i in range(20)),
            expected_outputs=("answer",),
            tags=frozenset({"performance"}),
        ),
        "error_handling": DataScenario(
            "error_handling",
            "an unreachable model endpoint must fail with a typed connection error",
            "minimal",
            (
                AgentSpec(
                    "unreachable_agent",
                    "qa",
                    config="local_ollama_no_retry",
                    # port 9 (discard) on loopback: nothing listens there in our stack
                    overrides={"base_url": "http://127.0.0.1:9", "timeout": 5.0},
                ),
            ),
            ({"question": "Anyone there?"},),
            expected_error="ProviderConnectionError",
            tags=frozenset({"errors"}),
        ),
    }


class KaizenTestDataManager:
    """Named scenarios plus unique names for per-test isolation.

    `scenario(name)` returns a `DataScenario`; `register()` adds project-specific ones;
    `unique_name(base)` gives a `NAME_PREFIX`-prefixed name that the service stack's cleanup
    recognises as ours, and `created_names()` lists them for teardown.
    """

    __test__ = False
    PREFIX = NAME_PREFIX

    def __init__(self) -> None:
        self._scenarios: dict[str, DataScenario] = _named_scenarios()
        self._names: list[str] = []

    def list_scenarios(self) -> list[str]:
        return sorted(self._scenarios)

    def scenario(self, name: str) -> DataScenario:
        return self._scenarios[_known(name, self._scenarios, "scenario")]

    def register(self, scenario: DataScenario, *, replace_existing: bool = False) -> None:
        if scenario.name in self._scenarios and not replace_existing:
            raise ValueError(
                f"scenario {scenario.name!r} already exists; pass replace_existing=True"
            )
        if scenario.preset not in CONFIG_PRESETS:
            raise ValueError(
                f"scenario {scenario.name!r}: unknown preset {scenario.preset!r} "
                f"(presets: {', '.join(CONFIG_PRESETS)})"
            )
        for spec in scenario.agents:
            spec.signature_text  # noqa: B018  (validates the key now, not at run time)
        self._scenarios[scenario.name] = scenario

    def multi_agent_scenario(self, pattern: str) -> DataScenario:
        return MULTI_AGENT_SCENARIOS[_known(pattern, MULTI_AGENT_SCENARIOS, "pattern")]

    def unique_name(self, base: str) -> str:
        safe = "".join(ch if ch.isalnum() else "_" for ch in base.lower()).strip("_") or "x"
        name = f"{self.PREFIX}{safe[:40]}_{uuid.uuid4().hex[:10]}"
        self._names.append(name)
        return name

    def created_names(self) -> list[str]:
        return list(self._names)


def _known(name: str, table: Mapping[str, Any], what: str) -> str:
    if name in table:
        return name
    close = difflib.get_close_matches(name, list(table), n=1)
    hint = f"did you mean {close[0]!r}? " if close else ""
    raise KeyError(f"unknown {what} {name!r}; {hint}known: {', '.join(sorted(table))}")
