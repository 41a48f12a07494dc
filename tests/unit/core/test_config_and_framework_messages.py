"""The exact words of configuration and framework errors, and the framework's small
contracts around them (lazy exports, the cached Agent class, audit records, pattern
options). A message names the key and the fix; a reworded or emptied one is a regression a
user meets first, so each is checked as written."""

from __future__ import annotations

from typing import Any

import pytest

import kaizen
from kaizen import Kaizen
from kaizen.audit import CONFIG_CHANGE, AuditTrail
from kaizen.config import AgentConfig, AgentConfigMemo, KaizenConfig, resolve_agent_config
from kaizen.errors import (
    AgentError,
    ConfigurationError,
    OutputPathError,
    ProviderNotFoundError,
    ProviderResponseError,
    WorkflowExecutionError,
)
from kaizen.providers import provider_factory, register_provider

AGENT_KEYS = ", ".join(AgentConfig.keys())


def config_error(call: Any, *args: Any, **kwargs: Any) -> ConfigurationError:
    with pytest.raises(ConfigurationError) as info:
        call(*args, **kwargs)
    return info.value


# --- kaizen.config ---------------------------------------------------------------------------


def test_an_unknown_key_with_no_close_match_lists_the_known_ones() -> None:
    error = config_error(AgentConfig.from_mapping, {"model": "m", "zzzzzz": 1})
    assert str(error) == f"zzzzzz: unknown agent config key; known keys: {AGENT_KEYS}"


def test_unknown_keys_name_where_they_were_given() -> None:
    error = config_error(AgentConfig(model="m").with_changes, modle="x")
    assert str(error).startswith("modle: unknown agent config key; did you mean 'model'? ")
    error = config_error(KaizenConfig.from_mapping, {"log_levle": "INFO"})
    assert str(error).startswith("log_levle: unknown kaizen config key; did you mean 'log_level'")


def test_not_a_mapping_and_a_missing_model() -> None:
    error = config_error(AgentConfig.from_mapping, ["model"])
    assert (error.key, str(error)) == (
        "agent config",
        "agent config: expected a mapping or AgentConfig, got list",
    )
    assert str(config_error(AgentConfig.from_mapping, {})) == "model: required in the agent config"
    error = config_error(resolve_agent_config, ("model",), KaizenConfig())
    assert str(error) == "agent config: expected a mapping or AgentConfig, got tuple"


def test_a_missing_model_says_where_to_set_it(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("KAIZEN_OLLAMA_MODEL", raising=False)
    error = config_error(resolve_agent_config, {}, KaizenConfig())
    assert str(error) == (
        "model: required: set it in the agent config, KaizenConfig.default_model "
        "or KAIZEN_OLLAMA_MODEL"
    )


def test_model_none_is_refused_when_built_directly() -> None:
    error = config_error(AgentConfig, model=None)  # type: ignore[arg-type]
    assert str(error) == "model: must be a non-empty string, got None"


def test_integer_settings_refuse_other_types_and_fractions() -> None:
    assert str(config_error(AgentConfig, model="m", max_tokens="8")) == (
        "max_tokens: must be an integer, got str '8'"
    )
    assert str(config_error(AgentConfig, model="m", temperature="hot")) == (
        "temperature: must be a number, got str 'hot'"
    )
    for key in ("max_steps", "max_retries"):
        assert str(config_error(AgentConfig, model="m", **{key: 2.5})) == (
            f"{key}: must be an integer, got 2.5"
        )
    for key in ("audit_retention_days", "memory_max_turns", "max_agents"):
        assert str(config_error(KaizenConfig, **{key: 1.5})) == (
            f"{key}: must be an integer, got 1.5"
        )


def test_max_steps_is_at_least_one() -> None:
    assert AgentConfig(model="m", max_steps=1).max_steps == 1
    error = config_error(AgentConfig, model="m", max_steps=0)
    assert (error.key, str(error)) == ("max_steps", "max_steps: must be >= 1, got 0")


@pytest.mark.parametrize("word", ["0", "false", "FALSE", "no", "No", "off"])
def test_env_false_words(word: str) -> None:
    config = KaizenConfig.from_env({"KAIZEN_AUDIT_ENABLED": word, "KAIZEN_MEMORY_ENABLED": "1"})
    assert (config.audit_enabled, config.memory_enabled) == (False, True)


def test_a_log_level_that_is_not_text_is_a_configuration_error() -> None:
    error = config_error(KaizenConfig, log_level=10)
    assert error.key == "log_level" and "got 10" in str(error)


def test_the_memo_holds_at_most_its_limit() -> None:
    memo, framework = AgentConfigMemo(), KaizenConfig()
    for i in range(memo.LIMIT + 1):
        memo.resolve({"model": f"m{i}"}, framework)
    assert len(memo.entries) == 1, "a full memo empties before it stores the next config"
    assert memo.last == {"model": f"m{memo.LIMIT}"}


# --- kaizen.framework ------------------------------------------------------------------------


def test_create_agent_errors_say_what_was_wrong() -> None:
    k = Kaizen({"max_agents": 1})
    error = config_error(k.create_agent, " ", {"model": "m"})
    assert str(error) == "agent_id: must be a non-empty string, got ' '"
    k.create_agent("a", {"model": "m"})
    assert str(config_error(k.create_agent, "b", {"model": "m"})) == (
        "max_agents: limit of 1 agents reached"
    )


def test_the_agent_class_is_imported_once(monkeypatch: pytest.MonkeyPatch) -> None:
    from kaizen import framework
    from kaizen.agent import Agent

    monkeypatch.setattr(framework, "_AGENT_CLASS", [])
    k = Kaizen()
    first, second = k.create_agent("a", {"model": "m"}), k.create_agent("b", {"model": "m"})
    assert type(first) is Agent and type(second) is Agent
    cached = framework._AGENT_CLASS
    assert cached == [Agent]


def test_an_unknown_agent_with_no_close_match() -> None:
    k = Kaizen()
    k.create_agent("writer", {"model": "m"})
    with pytest.raises(AgentError) as info:
        k.get_agent("qqq")
    assert str(info.value) == "no agent named 'qqq'"


def test_audit_records_of_the_framework_and_its_agents() -> None:
    k = Kaizen()
    trail = k.attach_audit(AuditTrail())
    k.create_agent("a", {"model": "m"}, signature="question -> answer")
    attached, created = trail.entries(CONFIG_CHANGE)
    assert (attached.actor, attached.action) == ("kaizen", "attach_audit")
    assert dict(attached.payload) == k.config.to_dict()
    assert (created.actor, created.action) == ("a", "create_agent")
    assert created.payload["signature"] == "question: str -> answer: str"
    assert created.payload["model"] == "m"


def test_pattern_shortcuts_pass_their_options_on() -> None:
    k = Kaizen()
    a = k.create_agent("a", {"model": "m"}, signature="question -> vote")
    b = k.create_agent("b", {"model": "m"}, signature="question -> vote")
    assert type(k.create_agent_team("t", ["a", "b"])).__name__ == "SupervisorWorker"
    assert k.sequential([a, b], timeout=5).timeout == 5
    assert k.consensus([a, b], timeout=6).timeout == 6
    assert k.handoff([a, b], timeout=7).timeout == 7


def test_debate_shortcut_passes_its_options_on() -> None:
    k = Kaizen()
    pro = k.create_agent("pro", {"model": "m"}, signature="topic, transcript -> argument")
    con = k.create_agent("con", {"model": "m"}, signature="topic, transcript -> argument")
    judge = k.create_agent("judge", {"model": "m"}, signature="topic, transcript -> verdict")
    assert k.debate(pro, con, judge, timeout=8).timeout == 8


# --- kaizen (lazy exports), kaizen.errors, kaizen.providers ----------------------------------


def test_a_lazy_export_is_imported_and_then_cached(monkeypatch: pytest.MonkeyPatch) -> None:
    from kaizen.workflow import WorkflowBuilder

    monkeypatch.delitem(vars(kaizen), "WorkflowBuilder", raising=False)
    assert kaizen.WorkflowBuilder is WorkflowBuilder
    assert vars(kaizen)["WorkflowBuilder"] is WorkflowBuilder
    with pytest.raises(AttributeError, match="module 'kaizen' has no attribute 'Nope'"):
        kaizen.Nope  # noqa: B018


def test_error_texts_and_attributes() -> None:
    missing = OutputPathError("n", "result", "", "result", ["x"])
    assert (
        missing.args
        == (str(missing),)
        == ("node 'n' produced no output 'result' (it produced: x)",)
    )
    bare = ProviderResponseError("bad")
    assert (bare.provider, bare.url, bare.status) == ("", None, None)
    named = ProviderResponseError("bad", provider="p", url="http://127.0.0.1:9", status=502)
    assert (named.provider, named.url, named.status) == ("p", "http://127.0.0.1:9", 502)
    failed = WorkflowExecutionError("r1", {}, {"a": ValueError("x"), "b": KeyError("y")})
    assert str(failed) == "workflow run r1 failed in 2 node(s): a: ValueError: x; b: KeyError: 'y'"


def test_provider_registry_messages() -> None:
    with pytest.raises(ValueError, match=r"^provider name must be a non-empty string, got ''$"):
        register_provider("", lambda config: None)
    with pytest.raises(TypeError, match=r"^provider factory for 'p' must be callable$"):
        register_provider("p", "not callable")  # type: ignore[arg-type]
    with pytest.raises(ProviderNotFoundError) as info:
        provider_factory("qqqqqq")
    assert str(info.value).startswith("no provider named 'qqqqqq'; registered: ")


def test_an_invalid_output_lists_every_field_error() -> None:
    from kaizen.errors import FieldError, OutputValidationError, SignatureValidationError

    errors = [FieldError("a", "is required"), FieldError("b", "must be an integer", "x")]
    last = SignatureValidationError("q -> a, b", errors, '{"b": "x"}')
    error = OutputValidationError("agent-1", [("{}", last), ('{"b": "x"}', last)])
    assert str(error) == (
        f"agent 'agent-1': model output invalid after 2 attempt(s): {errors[0]}; {errors[1]}; "
        """raw output: '{"b": "x"}'"""
    )
    assert error.raw_output == '{"b": "x"}' and error.fields == ("a", "b")
