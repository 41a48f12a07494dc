"""test_fixtures: presets validate, settings come from services.env, every signature
round-trips through the grammar, scenarios are runnable, tables are isolated."""

from __future__ import annotations

import inspect
import subprocess
import sys
from pathlib import Path

import pytest

from kaizen import Kaizen
from kaizen.config import AgentConfig, KaizenConfig
from kaizen.signatures import compile_signature
from tests.utils import test_fixtures as tf
from tests.utils._services.settings import ENV_FILE, parse_env_file
from tests.utils.mock_providers import MockDatabaseProvider, MockLLMProvider

ROOT = Path(__file__).resolve().parents[3]
ENV = parse_env_file(ENV_FILE)


# --- presets --------------------------------------------------------------------------------


@pytest.mark.parametrize("name", sorted(tf.CONFIG_PRESETS))
def test_every_preset_is_a_validated_config(name: str) -> None:
    config = tf.CONFIG_PRESETS[name]()
    assert isinstance(config, KaizenConfig)
    assert KaizenConfig.from_mapping(config.to_dict()) == config  # re-validates every key
    assert config.default_model == ENV["KAIZEN_TEST_OLLAMA_MODEL"]
    assert Kaizen(config=config).config is config


def test_presets_differ_where_they_should() -> None:
    enterprise = tf.enterprise_test_config()
    assert enterprise.audit_enabled and enterprise.memory_enabled
    assert enterprise.audit_retention_days >= 365 * 7
    assert not tf.minimal_test_config().audit_enabled
    assert tf.integration_test_config().default_timeout > tf.minimal_test_config().default_timeout


def test_public_preset_names_are_exported_by_tests_utils() -> None:
    import tests.utils as toolkit

    assert toolkit.enterprise_test_config is tf.enterprise_test_config
    assert toolkit.KaizenTestDataManager is tf.KaizenTestDataManager


def test_model_comes_from_settings_not_literals(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("KAIZEN_TEST_OLLAMA_MODEL", "other-model:1b")
    assert tf.minimal_test_config().default_model == "other-model:1b"
    assert tf.local_ollama_agent_config().model == "other-model:1b"


def test_empty_model_setting_is_an_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("KAIZEN_TEST_OLLAMA_MODEL", "")
    with pytest.raises(KeyError, match="KAIZEN_TEST_OLLAMA_MODEL"):
        tf.ollama_model()


# --- agent configs --------------------------------------------------------------------------


def test_local_ollama_agent_points_at_the_locked_in_endpoint(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    for key in ("KAIZEN_TEST_OLLAMA_HOST", "KAIZEN_TEST_OLLAMA_PORT"):
        monkeypatch.delenv(key, raising=False)  # the file's endpoint, not the caller's
    config = tf.local_ollama_agent_config()
    host, port = ENV["KAIZEN_TEST_OLLAMA_HOST"], ENV["KAIZEN_TEST_OLLAMA_PORT"]
    assert config.base_url == f"http://{host}:{port}"
    assert config.provider == "ollama"
    assert config.temperature == 0.0 and config.seed is not None


def test_endpoint_follows_environment_overrides(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("KAIZEN_TEST_OLLAMA_PORT", "12999")
    assert tf.local_ollama_agent_config().base_url.endswith(":12999")


@pytest.mark.parametrize("name", sorted(tf.AGENT_CONFIGS))
def test_every_agent_config_validates(name: str) -> None:
    config = tf.agent_config(name)
    assert isinstance(config, AgentConfig)
    assert AgentConfig.from_mapping(config.to_dict()) == config


def test_agent_config_overrides_are_validated() -> None:
    assert tf.agent_config("local_ollama", max_tokens=8).max_tokens == 8
    with pytest.raises(Exception, match="temperature"):
        tf.agent_config("local_ollama", temperature=9)


def test_unknown_agent_config_suggests_the_closest() -> None:
    with pytest.raises(KeyError, match="did you mean 'local_ollama'"):
        tf.agent_config("local_olama")


# --- signatures -----------------------------------------------------------------------------


@pytest.mark.parametrize("key", sorted(tf.SIGNATURES))
def test_every_signature_round_trips_through_the_grammar(key: str) -> None:
    compiled = compile_signature(tf.SIGNATURES[key])
    rendered = tf.signature_to_string(compiled)
    again = compile_signature(rendered)

    def shape(c):
        return [(f.name, f.kind, str(f.type), f.required) for f in (*c.inputs, *c.outputs)]

    assert shape(again) == shape(compiled)
    assert again.output_schema == compiled.output_schema


# --- scenarios ------------------------------------------------------------------------------


@pytest.fixture
def manager() -> tf.KaizenTestDataManager:
    return tf.KaizenTestDataManager()


def test_named_scenarios_exist(manager: tf.KaizenTestDataManager) -> None:
    assert set(manager.list_scenarios()) >= {
        "single_agent",
        "multi_agent_coordination",
        "enterprise_compliance",
        "performance",
        "error_handling",
    }


@pytest.mark.parametrize("name", sorted(tf.KaizenTestDataManager().list_scenarios()))
def test_every_scenario_is_consistent(manager: tf.KaizenTestDataManager, name: str) -> None:
    scenario = manager.scenario(name)
    assert isinstance(scenario.config(), KaizenConfig)
    available = set(tf.PATTERN_INPUTS.get(scenario.pattern or "", ()))
    for inputs in scenario.inputs:
        available |= set(inputs)
        if scenario.pattern == "supervisor_worker":
            available |= {k for task in inputs["tasks"] for k in task}
    for spec in scenario.agents:
        assert isinstance(spec.agent_config(), AgentConfig)
        compiled = compile_signature(spec.signature_text)
        missing = {f.name for f in compiled.inputs if f.required} - available
        assert not missing, f"{spec.agent_id} needs inputs nobody supplies: {missing}"
        if scenario.pattern in (None, "sequential"):
            available |= {f.name for f in compiled.outputs}
    if scenario.pattern is None:
        first = compile_signature(scenario.agents[0].signature_text)
        for inputs in scenario.inputs:
            first.validate_inputs(inputs)  # raises with the field name on a bad scenario
    outputs = {f.name for s in scenario.agents for f in compile_signature(s.signature_text).outputs}
    assert set(scenario.expected_outputs) <= outputs
    assert scenario.inputs, "a scenario needs at least one input"


@pytest.mark.parametrize("pattern", tf.COORDINATION_PATTERNS)
def test_multi_agent_scenarios_cover_every_pattern(
    manager: tf.KaizenTestDataManager, pattern: str
) -> None:
    scenario = manager.multi_agent_scenario(pattern)
    assert scenario.pattern == pattern
    assert len(scenario.agents) >= 2
    assert len({a.agent_id for a in scenario.agents}) == len(scenario.agents)


@pytest.mark.parametrize("name", ["single_agent", "enterprise_compliance", "performance"])
def test_scenarios_run_end_to_end_on_a_mock(manager: tf.KaizenTestDataManager, name: str) -> None:
    scenario = manager.scenario(name).with_agent_config("mock")
    provider = MockLLMProvider(name="mock", seed=3)
    with provider.registered():
        k = Kaizen(config=scenario.config())
        (agent,) = scenario.create_agents(k, prefix="t_")
        assert agent.agent_id.startswith("t_")
        for inputs in scenario.inputs:
            result = agent.run(**inputs)
            assert set(scenario.expected_outputs) <= set(result.outputs)
    assert len(provider.calls) == len(scenario.inputs)


def test_error_scenario_points_at_a_closed_loopback_port(manager: tf.KaizenTestDataManager) -> None:
    scenario = manager.scenario("error_handling")
    assert scenario.expected_error == "ProviderConnectionError"
    assert scenario.agents[0].agent_config().base_url.startswith("http://127.0.0.1:")
    assert scenario.agents[0].agent_config().max_retries == 0


def test_register_validates(manager: tf.KaizenTestDataManager) -> None:
    base = manager.scenario("single_agent")
    with pytest.raises(ValueError, match="already exists"):
        manager.register(base)
    with pytest.raises(ValueError, match="unknown preset"):
        manager.register(tf.DataScenario("x", "", "nope", base.agents, base.inputs))
    with pytest.raises(KeyError, match="unknown signature"):
        manager.register(
            tf.DataScenario("y", "", "minimal", (tf.AgentSpec("a", "no_such_sig"),), ({},))
        )
    manager.register(tf.DataScenario("z", "", "minimal", base.agents, base.inputs))
    assert "z" in manager.list_scenarios()


def test_unknown_scenario_and_pattern(manager: tf.KaizenTestDataManager) -> None:
    with pytest.raises(KeyError, match="did you mean 'single_agent'"):
        manager.scenario("single_agnt")
    with pytest.raises(KeyError, match="unknown pattern"):
        manager.multi_agent_scenario("round_robin")


def test_unique_names_are_prefixed_and_distinct(manager: tf.KaizenTestDataManager) -> None:
    names = {manager.unique_name("My Table!") for _ in range(50)}
    assert len(names) == 50
    assert all(n.startswith("kzt_my_table_") and len(n) <= 63 for n in names)
    assert sorted(manager.created_names()) == sorted(names)


# --- database fixtures ----------------------------------------------------------------------


@pytest.mark.parametrize("dialect", ["postgresql", "mysql", "sqlite"])
@pytest.mark.parametrize("table", sorted(tf.TABLES))
def test_table_sql_renders_per_dialect(dialect: str, table: str) -> None:
    fixture = tf.TABLES[table]
    create = fixture.create_sql(dialect)
    assert create.startswith(f"CREATE TABLE {fixture.name} (")
    mark = "?" if dialect == "sqlite" else "%s"
    assert fixture.insert_sql(dialect).count(mark) == len(fixture.columns)
    assert fixture.drop_sql(dialect) == f"DROP TABLE IF EXISTS {fixture.name}"


def test_table_fixture_rejects_bad_definitions() -> None:
    with pytest.raises(ValueError, match="unknown type 'blob'"):
        tf.TableFixture("t", (("a", "blob"),))
    with pytest.raises(ValueError, match="has 1 values, expected 2"):
        tf.TableFixture("t", (("a", "int"), ("b", "int")), ((1,),))
    with pytest.raises(ValueError, match="unknown SQL dialect 'oracle'"):
        tf.USERS_TABLE.create_sql("oracle")


def test_isolated_copies_never_share_a_name() -> None:
    names = {tf.USERS_TABLE.isolated().name for _ in range(20)}
    assert len(names) == 20 and all(n.startswith("kzt_users_") for n in names)
    assert tf.isolated_collection() != tf.isolated_collection()
    assert tf.isolated_redis_prefix("x").startswith("kzt:x:")


def test_seeded_table_creates_fills_and_drops() -> None:
    db = MockDatabaseProvider()
    with tf.seeded_table(db, tf.TICKETS_TABLE, "sqlite") as name:
        assert name.startswith("kzt_tickets_")
        rows = db.fetch_all(f"SELECT id, body FROM {name} ORDER BY id")
        assert [r["body"] for r in rows] == [r[1] for r in tf.TICKETS_TABLE.rows]
        assert name in db.tables()
    assert db.tables() == []


def test_seeded_table_drops_even_when_the_test_fails() -> None:
    db = MockDatabaseProvider()
    with pytest.raises(RuntimeError), tf.seeded_table(db, tf.USERS_TABLE, "sqlite"):
        raise RuntimeError("test failed")
    assert db.tables() == []


def test_two_seeded_copies_are_independent() -> None:
    db = MockDatabaseProvider()
    with (
        tf.seeded_table(db, tf.ORDERS_TABLE, "sqlite") as a,
        tf.seeded_table(db, tf.ORDERS_TABLE, "sqlite") as b,
    ):
        db.execute(f"DELETE FROM {a}")
        assert db.fetch_one(f"SELECT COUNT(*) AS n FROM {b}")["n"] == len(tf.ORDERS_TABLE.rows)


def test_as_dicts_and_documents() -> None:
    assert tf.USERS_TABLE.as_dicts()[0]["email"] == "ada@example.com"
    assert len({d["_id"] for d in tf.MONGO_DOCUMENTS}) == len(tf.MONGO_DOCUMENTS)


# --- never collected as tests ---------------------------------------------------------------


def test_classes_named_like_tests_opt_out() -> None:
    for name, obj in vars(tf).items():
        if inspect.isclass(obj) and name.startswith("Test") and obj.__module__ == tf.__name__:
            assert obj.__dict__.get("__test__") is False, name
    assert tf.__test__ is False


def test_pytest_collects_nothing_from_the_module() -> None:
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "--collect-only",
            "-q",
            "-p",
            "no:cacheprovider",
            "tests/utils/test_fixtures.py",
            "tests/utils",
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    output = proc.stdout + proc.stderr
    assert proc.returncode == 5, output  # 5: no tests collected (and no collection error)
    assert "warning" not in output.lower(), output
    assert "error" not in output.lower(), output
