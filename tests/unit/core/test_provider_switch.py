"""`kaizen.providers.ALLOW_FAKE_PROVIDERS`: the public switch that refuses fake providers
(the tier plugin turns it off for integration/e2e tests)."""

from __future__ import annotations

import contextlib
import sys
from collections.abc import Iterator
from typing import Any

import pytest

import kaizen.providers as providers
from kaizen.errors import ProviderError, ProviderNotAllowedError
from kaizen.providers import (
    available_providers,
    is_real_provider,
    override_allow_fake_providers,
    real_provider,
    register_provider,
    unregister_provider,
)
from kaizen.providers.registry import REFUSED_AUDIT_EVENT

NAME = "test-switch-provider"


@pytest.fixture(autouse=True)
def _clean() -> Iterator[None]:
    yield
    unregister_provider(NAME)


def _fake(config: Any) -> Any:
    raise AssertionError("never built")


def test_fakes_are_allowed_by_default() -> None:
    assert providers.ALLOW_FAKE_PROVIDERS is True
    register_provider(NAME, _fake)
    assert NAME in available_providers()


def test_switched_off_a_fake_is_refused_and_never_lands() -> None:
    with override_allow_fake_providers(False), pytest.raises(ProviderNotAllowedError) as info:
        register_provider(NAME, _fake)
    assert NAME not in available_providers()
    message = str(info.value)
    assert repr(NAME) in message and "ALLOW_FAKE_PROVIDERS is False" in message
    assert "kaizen.providers.real_provider" in message  # names the fix
    assert isinstance(info.value, ProviderError) and isinstance(info.value, PermissionError)


def test_switched_off_replace_is_refused_too() -> None:
    register_provider(NAME, _fake)
    with override_allow_fake_providers(False), pytest.raises(ProviderNotAllowedError):
        register_provider(NAME, lambda config: None, replace=True)
    assert providers.provider_factory(NAME) is _fake


def test_a_factory_marked_real_is_accepted_while_switched_off() -> None:
    factory = real_provider(lambda config: None)
    with override_allow_fake_providers(False):
        register_provider(NAME, factory)
    assert providers.provider_factory(NAME) is factory


def test_real_provider_marks_and_returns_the_factory() -> None:
    def factory(config: Any) -> Any:
        return None

    assert not is_real_provider(factory)
    assert real_provider(factory) is factory
    assert is_real_provider(factory)
    assert not is_real_provider(type("Truthy", (), {"__kaizen_real_provider__": 1}))


def test_setting_the_module_attribute_works_like_the_context_manager(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(providers, "ALLOW_FAKE_PROVIDERS", False)
    with pytest.raises(ProviderNotAllowedError):
        register_provider(NAME, _fake)


def test_override_restores_the_previous_value_even_on_error() -> None:
    with override_allow_fake_providers(False):
        with override_allow_fake_providers(True):
            assert providers.ALLOW_FAKE_PROVIDERS is True
        assert providers.ALLOW_FAKE_PROVIDERS is False
        with pytest.raises(RuntimeError), override_allow_fake_providers(True):
            raise RuntimeError("boom")
        assert providers.ALLOW_FAKE_PROVIDERS is False
    assert providers.ALLOW_FAKE_PROVIDERS is True


def test_override_wants_a_bool() -> None:
    with pytest.raises(TypeError, match="bool"), override_allow_fake_providers(0):  # type: ignore[arg-type]
        pass
    assert providers.ALLOW_FAKE_PROVIDERS is True


def test_a_refusal_is_an_audit_event_even_when_swallowed() -> None:
    seen: list[tuple[str, tuple[Any, ...]]] = []
    active = [True]

    def hook(event: str, args: tuple[Any, ...]) -> None:
        if active[0] and event == REFUSED_AUDIT_EVENT:
            seen.append((event, args))

    sys.addaudithook(hook)  # audit hooks cannot be removed: `active` retires this one
    try:
        # swallowed on purpose
        with override_allow_fake_providers(False), contextlib.suppress(ProviderNotAllowedError):
            register_provider(NAME, _fake)
        register_provider(NAME, _fake)  # allowed: no event
    finally:
        active[0] = False
    assert seen == [(REFUSED_AUDIT_EVENT, (NAME, _fake))]
