"""`_tiers.providers`: kaizen's public ALLOW_FAKE_PROVIDERS switch is off during
integration/e2e tests, so a fake registered at run time fails the test (even swallowed);
unit tests may register anything; the registry itself is never swapped."""

from __future__ import annotations

import pytest

from tests.unit.utils.tiers._project import write
from tests.utils._tiers.providers import real_provider


def test_real_provider_factories_pass_the_static_check(project: pytest.Pytester) -> None:
    write(
        project,
        "tests/integration/test_real_provider.py",
        """
        import kaizen.providers as providers
        from kaizen.providers import register_provider, unregister_provider
        from tests.utils.pytest_tiers import real_provider

        @real_provider
        def factory(config):
            raise AssertionError("not called")

        def test_register():
            register_provider("kzt-real-a", factory)
            unregister_provider("kzt-real-a")
            register_provider("kzt-real-b", real_provider(lambda c: None))
            unregister_provider("kzt-real-b")
            register_provider("kzt-real-c", providers.real_provider(lambda c: None))
            unregister_provider("kzt-real-c")
        """,
    )
    project.runpytest_inprocess().assert_outcomes(passed=1)


def test_dynamic_fake_registration_fails_at_run_time(project: pytest.Pytester) -> None:
    write(
        project,
        "tests/integration/test_dynamic.py",
        """
        from kaizen.providers import registry

        def sneaky(name, factory):
            getattr(registry, "register_" + "provider")(name, factory)

        def test_register_fake():
            sneaky("kzt-fake", lambda config: object())

        def test_register_fake_swallowed():
            try:
                sneaky("kzt-fake-2", lambda config: object())
            except Exception:
                pass

        def test_fake_never_landed():
            assert "kzt-fake" not in registry.available_providers()
            assert "kzt-fake-2" not in registry.available_providers()
        """,
    )
    result = project.runpytest_inprocess()
    result.assert_outcomes(failed=2, passed=1)
    result.stdout.fnmatch_lines(["*ProviderNotAllowedError*ALLOW_FAKE_PROVIDERS is False*"])
    result.stdout.fnmatch_lines(
        ["*register_provider('kzt-fake-2'*integration test*may only register real providers*"]
    )


def test_the_switch_follows_the_tier(project: pytest.Pytester) -> None:
    for tier, allowed in (("unit", True), ("integration", False), ("e2e", False)):
        write(
            project,
            f"tests/{tier}/test_switch_{tier}.py",
            f"""
            import pytest
            import kaizen.providers as providers
            from kaizen.providers import registry

            @pytest.fixture
            def seen_in_setup():
                return providers.ALLOW_FAKE_PROVIDERS

            def test_switch(seen_in_setup):
                assert seen_in_setup is providers.ALLOW_FAKE_PROVIDERS is {allowed}
                assert type(registry._FACTORIES) is dict  # never swapped
            """,
        )
    project.runpytest_inprocess().assert_outcomes(passed=3)
    import kaizen.providers as providers

    assert providers.ALLOW_FAKE_PROVIDERS is True  # restored after the inner run


def test_unit_tests_may_register_any_provider(project: pytest.Pytester) -> None:
    write(
        project,
        "tests/unit/test_register_unit.py",
        """
        from kaizen.providers import register_provider, unregister_provider

        def test_register():
            register_provider("kzt-unit-fake", lambda config: None)
            unregister_provider("kzt-unit-fake")
        """,
    )
    project.runpytest_inprocess().assert_outcomes(passed=1)


def test_a_refusal_outside_a_real_tier_is_no_violation() -> None:
    """The audit hook forwards refusals only while an integration/e2e test runs."""
    from kaizen.errors import ProviderNotAllowedError
    from kaizen.providers import override_allow_fake_providers, register_provider
    from tests.utils._tiers import violations

    with override_allow_fake_providers(False), pytest.raises(ProviderNotAllowedError):
        register_provider("kzt-unit-refused", lambda config: None)
    assert violations.current.tier == "unit" and violations.current.violations == []


def test_real_provider_is_kaizens_marker() -> None:
    from kaizen.providers import is_real_provider
    from kaizen.providers import real_provider as kaizen_real

    def factory(config):
        return None

    assert real_provider is kaizen_real
    assert real_provider(factory) is factory
    assert factory.__kaizen_real_provider__ is True and is_real_provider(factory)
