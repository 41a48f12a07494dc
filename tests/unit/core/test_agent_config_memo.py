"""create_agent remembers validated agent configs (AgentConfigMemo): equal configs share one
immutable AgentConfig, and every bad config still fails at create_agent."""

from __future__ import annotations

from typing import Any

import pytest

from kaizen.config import AgentConfigMemo, KaizenConfig
from kaizen.errors import ConfigurationError, ProviderNotFoundError
from kaizen.framework import Kaizen
from kaizen.signatures import InputField, OutputField, Signature
from tests.utils.mock_providers import MockLLMProvider


def test_equal_configs_share_one_validated_config(scripted: MockLLMProvider) -> None:
    k = Kaizen()
    cfg = {"model": "m", "provider": scripted.name}
    a = k.create_agent("a", cfg)
    b = k.create_agent("b", dict(cfg))
    c = k.create_agent("c", {**cfg, "temperature": 0.5})
    d = k.create_agent("d", {**cfg, "temperature": 0.5})
    assert a.config is b.config and c.config is d.config
    assert c.config.temperature == 0.5 and a.config.temperature == 0.0


def test_the_memo_keeps_a_copy_not_the_callers_dict(scripted: MockLLMProvider) -> None:
    k = Kaizen()
    cfg = {"model": "m", "provider": scripted.name}
    k.create_agent("a", cfg)
    cfg["model"] = "other"  # the caller reuses and changes its dict
    assert k.create_agent("b", cfg).config.model == "other"
    cfg["provider"] = "nope"
    with pytest.raises(ProviderNotFoundError, match="'nope'"):
        k.create_agent("c", cfg)


@pytest.mark.parametrize(
    ("good", "bad", "key"),
    [
        ({"temperature": 1}, {"temperature": True}, "temperature"),
        ({"max_tokens": 256}, {"max_tokens": 256.0}, "max_tokens"),
        ({"seed": 0}, {"seed": False}, "seed"),
        ({"timeout": 5}, {"timeout": 0}, "timeout"),
        ({}, {"temprature": 0.1}, "temprature"),
    ],
    ids=["bool-for-number", "float-for-int", "bool-for-seed", "out-of-range", "unknown-key"],
)
def test_a_bad_config_fails_at_create_after_an_equal_good_one(
    scripted: MockLLMProvider, good: dict[str, Any], bad: dict[str, Any], key: str
) -> None:
    """True == 1 and 256.0 == 256 as dict keys: the memo must tell them apart."""
    k = Kaizen()
    base = {"model": "m", "provider": scripted.name}
    k.create_agent("good", {**base, **good})
    k.create_agent("good2", {**base, **good})
    with pytest.raises(ConfigurationError) as info:
        k.create_agent("bad", {**base, **bad})
    assert info.value.key == key and "bad" not in k


def test_a_provider_unregistered_later_fails_at_create() -> None:
    provider = MockLLMProvider(name="memo-gone", script=[])
    k = Kaizen()
    cfg = {"model": "m", "provider": "memo-gone"}
    with provider.registered():
        k.create_agent("a", cfg)
        k.create_agent("b", cfg)
    with pytest.raises(ProviderNotFoundError, match="'memo-gone'"):
        k.create_agent("c", cfg)


def test_a_new_framework_config_is_used(scripted: MockLLMProvider) -> None:
    k = Kaizen()
    cfg = {"model": "m", "provider": scripted.name}
    assert k.create_agent("a", cfg).config.timeout == 60.0
    k.config = KaizenConfig(default_timeout=5)
    assert k.create_agent("b", cfg).config.timeout == 5


def test_memo_is_bounded_and_skips_what_it_cannot_key(scripted: MockLLMProvider) -> None:
    memo = AgentConfigMemo()
    framework = KaizenConfig()
    for i in range(AgentConfigMemo.LIMIT + 10):
        memo.resolve({"model": f"m{i}", "provider": scripted.name}, framework)
    assert len(memo.entries) <= AgentConfigMemo.LIMIT
    size = len(memo.entries)
    no_model = memo.resolve(
        {"provider": scripted.name, "model": None}, KaizenConfig(default_model="d")
    )
    assert no_model.model == "d"  # not remembered: it depends on framework and environment
    assert memo.framework is framework and len(memo.entries) == size > 0
    with pytest.raises(ConfigurationError) as info:  # not a TypeError from hashing a list
        memo.resolve({"model": "m", "provider": scripted.name, "system_prompt": ["x"]}, framework)
    assert info.value.key == "system_prompt" and len(memo.entries) == size


def test_a_bad_signature_still_fails_at_create(scripted: MockLLMProvider) -> None:
    class Base(Signature, abstract=True):
        question: str = InputField()

    class QA(Signature):
        question: str = InputField()
        answer: str = OutputField()

    k = Kaizen()
    cfg = {"model": "m", "provider": scripted.name}
    assert k.create_agent("ok", cfg, signature=QA).compiled.output_names == ("answer",)
    with pytest.raises(Exception, match="abstract"):
        k.create_agent("abstract", cfg, signature=Base)
    with pytest.raises(Exception, match="->"):
        k.create_agent("malformed", cfg, signature="question answer")
    assert "abstract" not in k and "malformed" not in k
