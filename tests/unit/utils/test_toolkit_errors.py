"""Every exception class the toolkit defines derives from the one root, `ToolkitError`, and
keeps the base it had before (a builtin or a kaizen error) as a mixin, so callers that
catch `ValueError`, `RuntimeError`, `AssertionError` or a kaizen error keep working."""

from __future__ import annotations

import importlib
import inspect
import pkgutil
from collections.abc import Iterator
from types import ModuleType

import pytest

import tests.utils
from kaizen.errors import KaizenError, ProviderResponseError
from tests.utils.errors import ToolkitError


def _modules(path: list[str], prefix: str) -> Iterator[ModuleType]:
    """Every module under `path`, subpackages included."""
    for info in pkgutil.iter_modules(path, prefix):
        module = importlib.import_module(info.name)
        yield module
        if info.ispkg:
            yield from _modules(list(module.__path__), info.name + ".")


def _classes_in(namespace: dict[str, object], module: str, outer: str = "") -> Iterator[type]:
    """Classes defined in `module` (not imported into it), nested class bodies included."""
    for value in namespace.values():
        if not (inspect.isclass(value) and value.__module__ == module):
            continue
        if value.__qualname__ == f"{outer}{value.__name__}":  # defined here, not an alias
            yield value
            yield from _classes_in(dict(vars(value)), module, value.__qualname__ + ".")


def toolkit_exceptions() -> dict[str, type[BaseException]]:
    found: dict[str, type[BaseException]] = {}
    for module in _modules(list(tests.utils.__path__), "tests.utils."):
        for cls in _classes_in(vars(module), module.__name__):
            if issubclass(cls, BaseException):
                found[f"{cls.__module__}.{cls.__qualname__}"] = cls
    return found


def test_every_toolkit_exception_derives_from_the_root() -> None:
    found = toolkit_exceptions()
    outside = sorted(
        f"{name} (bases: {', '.join(b.__name__ for b in cls.__bases__)})"
        for name, cls in found.items()
        if not issubclass(cls, ToolkitError)
    )
    assert outside == [], "derive these from tests.utils.errors.ToolkitError: " + "; ".join(outside)


def test_the_walk_sees_every_part_of_the_toolkit() -> None:
    found = toolkit_exceptions()
    # a walk that found nothing would pass the test above for the wrong reason
    for name in (
        "tests.utils.errors.ToolkitError",
        "tests.utils._integration.polling.ConditionTimeout",
        "tests.utils._tiers.violations.TierViolation",
        "tests.utils.mock_providers.llm.ScriptExhausted",
        "tests.utils._perf.baseline.BaselineNotFoundError",
        "tests.utils._services.errors.ServiceError",
        "tests.utils._services.registry.UnverifiedProcessError",
        "tests.utils.ollama_server.protocol.RequestError",
        "tests.utils.ollama_server.models.ModelUnavailableError",
    ):
        assert name in found


KEPT_BASES = [
    ("tests.utils._integration.polling", "ConditionTimeout", AssertionError),
    ("tests.utils._integration.proxies", "FaultError", RuntimeError),
    ("tests.utils._perf.baseline", "MachineClassMismatchError", ValueError),
    ("tests.utils._perf.baseline", "BaselineNotFoundError", FileNotFoundError),
    ("tests.utils._perf.tracker", "PerformanceAssertionError", AssertionError),
    ("tests.utils._schema_sample", "UnsupportedSchemaError", ValueError),
    ("tests.utils._services.engine", "EngineError", RuntimeError),
    ("tests.utils._services.errors", "ServiceError", RuntimeError),
    ("tests.utils._services.errors", "PortOccupiedError", RuntimeError),
    ("tests.utils._services.isolation", "RefusedCleanupError", RuntimeError),
    ("tests.utils._services.registry", "StateFileError", RuntimeError),
    ("tests.utils._services.registry", "UnverifiedProcessError", RuntimeError),
    ("tests.utils._services.settings", "SettingsError", ValueError),
    ("tests.utils._services.settings", "UnknownServiceError", KeyError),
    ("tests.utils._tiers.violations", "TierViolation", RuntimeError),
    ("tests.utils.mock_providers._calls", "MockProviderError", KaizenError),
    ("tests.utils.mock_providers.faults", "MockRateLimitError", ProviderResponseError),
    ("tests.utils.mock_providers.llm", "ScriptExhausted", LookupError),
    ("tests.utils.mock_providers.llm", "UnmatchedPrompt", LookupError),
    ("tests.utils.ollama_server.grammar", "GrammarError", ValueError),
    ("tests.utils.ollama_server.models", "ModelUnavailableError", RuntimeError),
    ("tests.utils.ollama_server.tools", "ToolsError", ValueError),
    ("tests.utils.ollama_server.tools", "ToolOutputError", RuntimeError),
]


@pytest.mark.parametrize(("module", "name", "base"), KEPT_BASES, ids=[n for _, n, _ in KEPT_BASES])
def test_the_old_base_stays_a_mixin_after_the_root(
    module: str, name: str, base: type[BaseException]
) -> None:
    cls = getattr(importlib.import_module(module), name)
    assert issubclass(cls, ToolkitError)
    assert issubclass(cls, base)
    mro = cls.__mro__
    assert mro.index(ToolkitError) < mro.index(base)  # the root first, as in kaizen/errors.py


def test_a_raised_toolkit_error_is_caught_by_its_old_base_and_by_the_root() -> None:
    from tests.utils._schema_sample import sample_schema

    with pytest.raises(ValueError, match="unknown type"):
        sample_schema({"type": "no-such-type"})
    with pytest.raises(ToolkitError, match="unknown type"):
        sample_schema({"type": "no-such-type"})


def test_the_root_is_exported_from_tests_utils() -> None:
    from tests.utils import ToolkitError as exported

    assert exported is ToolkitError
    assert "ToolkitError" in tests.utils.__all__
