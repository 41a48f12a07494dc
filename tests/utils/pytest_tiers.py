"""Tiers that enforce themselves.

Markers come from the directory a test lives in (`tests/unit` -> `unit`, `tests/integration`
-> `integration`, `tests/e2e` -> `e2e`); a test file outside the three tiers is rejected.
On top of that:

- integration/e2e modules (and the conftests and local helper modules they import) are read
  with `ast` before import: `unittest.mock`, `pytest-mock` (`mocker`), the backport `mock`,
  `tests.utils.mock_providers`, or `register_provider(...)` with a factory not marked
  `@real_provider` make the module a collection error that says why;
- during integration/e2e tests `kaizen.providers.register_provider` itself refuses factories
  not marked `@real_provider` (catches what the static check cannot see);
- during unit tests `socket.connect` to anything but loopback/unix sockets, or to an Ollama
  port (a real LLM), fails the test and names the call, even if the caller swallowed it;
- every test has a default timeout per tier (`@pytest.mark.timeout(s)` overrides it,
  `--tier-timeout-scale` multiplies all of them, 0 disables);
- `tests/utils/` is the toolkit, never collected (its `test_fixtures.py` is not a test).

PytestCollectionWarning and "coroutine ... was never awaited" are errors through
`filterwarnings` in pyproject.toml; the plugin's own tests prove both fail a run.
"""

from __future__ import annotations

import ast
import contextlib
import ipaddress
import os
import re
import signal
import socket
import threading
from collections.abc import Callable, Generator, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import pytest

from tests.utils import UNIT_TIER_FAKES

TIERS = ("unit", "integration", "e2e")
REAL_TIERS = frozenset({"integration", "e2e"})
TESTS_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_TIMEOUTS: dict[str, float] = {"unit": 60.0, "integration": 600.0, "e2e": 1200.0}
STANDARD_OLLAMA_PORT = 11434
REAL_PROVIDER_ATTR = "__kaizen_real_provider__"

F = TypeVar("F", bound=Callable[..., Any])


class TierViolation(RuntimeError):
    """A test broke its tier's rules (a mock in a real tier, a socket out of a unit test)."""


def real_provider(factory: F) -> F:
    """Mark a provider factory as real (it talks to a real server over a real socket), so
    integration/e2e tests may register it. Marking a fake as real defeats the tier rules."""
    setattr(factory, REAL_PROVIDER_ATTR, True)
    return factory


# --- where a test lives -------------------------------------------------------------------


def _tests_root(config: pytest.Config | None) -> Path:
    return (config.rootpath / "tests") if config is not None else TESTS_ROOT


def tier_of(path: Path, root: Path = TESTS_ROOT) -> str | None:
    """The tier a file belongs to, from its first directory under the tests root."""
    try:
        relative = Path(path).resolve().relative_to(root.resolve())
    except ValueError:
        return None
    first = relative.parts[0] if len(relative.parts) > 1 else None
    return first if first in TIERS else None


def _item_tier(item: pytest.Item) -> str | None:
    for tier in TIERS:
        if item.get_closest_marker(tier) is not None:
            return tier
    return None


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("kaizen tiers")
    group.addoption(
        "--tier-timeout-scale",
        type=float,
        default=None,
        help="multiply every tier's default per-test timeout (0 disables them); "
        "env KAIZEN_TEST_TIMEOUT_SCALE",
    )


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", "timeout(seconds): per-test timeout overriding the tier default"
    )
    _ProviderGuard.install()


def pytest_unconfigure(config: pytest.Config) -> None:
    _ProviderGuard.uninstall()


def pytest_ignore_collect(collection_path: Path, config: pytest.Config) -> bool | None:
    """`tests/utils` is the toolkit (its `test_fixtures.py` included): never collected."""
    toolkit = _tests_root(config) / "utils"
    if collection_path == toolkit or toolkit in collection_path.parents:
        return True
    return None


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    root = _tests_root(config)
    for item in items:
        tier = tier_of(item.path, root)
        if tier is None:
            raise pytest.UsageError(
                f"{item.nodeid}: test is outside tests/unit, tests/integration and tests/e2e; "
                "move it into the tier whose rules it follows"
            )
        item.add_marker(getattr(pytest.mark, tier))


# --- static check of integration/e2e modules ------------------------------------------------

_FORBIDDEN_MODULES = {
    "unittest.mock": "unittest.mock is a mock library",
    "mock": "the `mock` package is unittest.mock's backport",
    "pytest_mock": "pytest-mock wraps unittest.mock",
    "tests.utils.mock_providers": "tests.utils.mock_providers holds unit-tier fakes",
}


@dataclass(frozen=True)
class Finding:
    path: Path
    line: int
    what: str

    def __str__(self) -> str:
        return f"{self.path}:{self.line}: {self.what}"


def _module_for(name: str, level: int, path: Path, root: Path) -> str | None:
    """Absolute dotted module name of an import (relative imports resolved from `path`)."""
    if level == 0:
        return name
    try:
        package = path.resolve().parent.relative_to(root.resolve().parent)
    except ValueError:
        return None
    parts = list(package.parts)
    if level > 1:
        parts = parts[: -(level - 1)] if level - 1 <= len(parts) else []
    return ".".join([*parts, name] if name else parts)


def _forbidden(module: str) -> str | None:
    for bad, why in _FORBIDDEN_MODULES.items():
        if module == bad or module.startswith(bad + "."):
            return why
    return None


def _marked_real(tree: ast.Module) -> set[str]:
    """Names defined in the module with an `@real_provider` decorator."""
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            for deco in node.decorator_list:
                target = deco.func if isinstance(deco, ast.Call) else deco
                if _call_name(target) == "real_provider":
                    names.add(node.name)
        if (
            isinstance(node, ast.Assign)
            and isinstance(node.value, ast.Call)
            and _call_name(node.value.func) == "real_provider"
        ):
            names.update(t.id for t in node.targets if isinstance(t, ast.Name))
    return names


def _call_name(func: ast.expr) -> str | None:
    if isinstance(func, ast.Name):
        return func.id
    if isinstance(func, ast.Attribute):
        return func.attr
    return None


# Every finding, and every local import worth following, needs one of these tokens in the
# text: files without any (most of them) skip the AST parse, which dominated collection.
_MAY_MATTER = re.compile(
    r"mock|register_provider|import_module|__import__"
    r"|(?:from|import)\s+tests\.(?!utils\b)|from\s+\.|Mock[A-Z]"
)


def scan_source(source: str, path: Path, root: Path = TESTS_ROOT) -> tuple[list[Finding], set[str]]:
    """Tier violations in one module, plus the local `tests.*` modules it imports."""
    if _MAY_MATTER.search(source) is None:
        return [], set()
    tree = ast.parse(source, filename=str(path))
    findings: list[Finding] = []
    local: set[str] = set()
    real = _marked_real(tree)

    def imported(module: str | None, line: int, shown: str) -> None:
        if module is None:
            return
        why = _forbidden(module)
        if why:
            findings.append(Finding(path, line, f"imports {shown} ({why})"))
        elif module.startswith("tests.") and not module.startswith("tests.utils"):
            local.add(module)

    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                imported(alias.name, node.lineno, alias.name)
        elif isinstance(node, ast.ImportFrom):
            base = _module_for(node.module or "", node.level, path, root)
            shown = "." * node.level + (node.module or "")
            imported(base, node.lineno, shown)
            for alias in node.names:
                if base is not None:
                    full = f"{base}.{alias.name}" if base else alias.name
                    if base == "tests.utils" and alias.name in UNIT_TIER_FAKES:
                        full = f"tests.utils.mock_providers.{alias.name}"  # re-exported
                    if _forbidden(full) and not _forbidden(base):
                        imported(full, node.lineno, f"{alias.name} from {shown}")
        elif isinstance(node, ast.Attribute):
            if isinstance(node.value, ast.Name) and (node.value.id, node.attr) == (
                "unittest",
                "mock",
            ):
                findings.append(Finding(path, node.lineno, "uses unittest.mock"))
        elif isinstance(node, ast.arg) and node.arg == "mocker":
            findings.append(
                Finding(path, node.lineno, "requests the `mocker` fixture (pytest-mock)")
            )
        elif isinstance(node, ast.Call):
            name = _call_name(node.func)
            if name in ("import_module", "__import__") and node.args:
                first = node.args[0]
                if isinstance(first, ast.Constant) and isinstance(first.value, str):
                    imported(first.value, node.lineno, first.value)
            if name == "register_provider":
                factory = node.args[1] if len(node.args) > 1 else None
                for kw in node.keywords:
                    if kw.arg == "factory":
                        factory = kw.value
                ok = (isinstance(factory, ast.Name) and factory.id in real) or (
                    isinstance(factory, ast.Call) and _call_name(factory.func) == "real_provider"
                )
                if not ok:
                    findings.append(
                        Finding(
                            path,
                            node.lineno,
                            "registers a provider whose factory is not marked @real_provider "
                            "(a non-real LLM provider)",
                        )
                    )
    return findings, local


def _module_path(module: str, root: Path) -> Path | None:
    base = root.parent.joinpath(*module.split("."))
    for candidate in (base.with_suffix(".py"), base / "__init__.py"):
        if candidate.is_file():
            return candidate
    return None


class _Scanner:
    """Scans a module, the conftests above it in its tier, and local modules it imports."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self._cache: dict[Path, tuple[list[Finding], set[str]]] = {}

    def _scan_file(self, path: Path) -> tuple[list[Finding], set[str]]:
        path = path.resolve()
        if path not in self._cache:
            try:
                source = path.read_text(encoding="utf-8")
            except OSError:
                source = ""
            try:
                self._cache[path] = scan_source(source, path, self.root)
            except SyntaxError:
                self._cache[path] = ([], set())  # pytest reports the syntax error itself
        return self._cache[path]

    def findings(self, path: Path) -> list[Finding]:
        tier_dir = self.root.resolve() / str(tier_of(path, self.root))
        todo = [path.resolve()]
        todo += [
            d / "conftest.py"
            for d in [path.resolve().parent, *path.resolve().parents]
            if d == tier_dir or tier_dir in d.parents
        ]
        seen: set[Path] = set()
        found: list[Finding] = []
        while todo:
            current = todo.pop()
            if current in seen or not current.is_file():
                continue
            seen.add(current)
            findings, local = self._scan_file(current)
            found += findings
            for module in local:
                target = _module_path(module, self.root)
                if target is not None:
                    todo.append(target.resolve())
        return sorted(set(found), key=lambda f: (str(f.path), f.line))


_SCANNER_KEY = pytest.StashKey[_Scanner]()


@pytest.hookimpl(tryfirst=True)
def pytest_make_collect_report(collector: pytest.Collector) -> pytest.CollectReport | None:
    if not isinstance(collector, pytest.Module):
        return None
    config = collector.config
    root = _tests_root(config)
    tier = tier_of(collector.path, root)
    if tier not in REAL_TIERS:
        return None
    scanner = config.stash.get(_SCANNER_KEY, None)
    if scanner is None:
        scanner = config.stash[_SCANNER_KEY] = _Scanner(root)
    findings = scanner.findings(collector.path)
    if not findings:
        return None
    lines = "\n".join(f"  {f}" for f in findings)
    message = (
        f"{collector.nodeid}: {tier} tests run against real services only; no mocks, no fake "
        f"providers.\n{lines}\nMove the test to tests/unit, or use the real service "
        "(tests.utils.IntegrationTestSuite, the requires_services fixtures)."
    )
    return pytest.CollectReport(collector.nodeid, "failed", message, [])


# --- runtime guards -----------------------------------------------------------------------


class _Current:
    """What is running now, for the guards (one test at a time per process)."""

    tier: str | None = None
    nodeid: str = ""
    violations: list[str] = []


class _ProviderGuard(dict):  # type: ignore[type-arg]
    """Replaces kaizen's provider-factory table: integration/e2e tests may only register
    factories marked `@real_provider`. Installed for the whole session, checks per test."""

    _original: dict[str, Any] | None = None
    _users = 0  # nested sessions (pytester) share the process: uninstall with the last one

    def __setitem__(self, name: str, factory: Any) -> None:
        if _Current.tier in REAL_TIERS and not getattr(factory, REAL_PROVIDER_ATTR, False):
            message = (
                f"register_provider({name!r}, {factory!r}) in {_Current.tier} test "
                f"{_Current.nodeid}: integration/e2e tests may only register real providers "
                "(mark the factory with tests.utils.pytest_tiers.real_provider if it talks to "
                "a real server); fakes belong in tests/unit"
            )
            _Current.violations.append(message)
            raise TierViolation(message)
        super().__setitem__(name, factory)

    @classmethod
    def install(cls) -> None:
        from kaizen.providers import registry

        cls._users += 1
        if isinstance(registry._FACTORIES, cls):
            return
        cls._original = registry._FACTORIES
        registry._FACTORIES = cls(registry._FACTORIES)

    @classmethod
    def uninstall(cls) -> None:
        from kaizen.providers import registry

        cls._users = max(cls._users - 1, 0)
        if cls._users == 0 and isinstance(registry._FACTORIES, cls) and cls._original is not None:
            cls._original.clear()
            cls._original.update(dict(registry._FACTORIES))
            registry._FACTORIES = cls._original
            cls._original = None


def _ollama_ports() -> set[int]:
    ports = {STANDARD_OLLAMA_PORT}
    with contextlib.suppress(Exception):
        from tests.utils._services.settings import load_settings

        ports.add(load_settings()["ollama"].port)
    url = os.environ.get("KAIZEN_OLLAMA_URL")
    if url:
        from urllib.parse import urlparse

        with contextlib.suppress(ValueError):
            port = urlparse(url).port
            if port:
                ports.add(port)
    return ports


def _loopback(host: str) -> bool:
    if host in ("localhost", "localhost.localdomain", "ip6-localhost"):
        return True
    try:
        return ipaddress.ip_address(host.split("%", 1)[0]).is_loopback
    except ValueError:
        return False


class _SocketGuard:
    """Wraps socket.connect/connect_ex while a unit test runs."""

    def __init__(self, llm_ports: Iterable[int]) -> None:
        self.llm_ports = frozenset(llm_ports)
        self._saved: dict[str, Any] = {}

    def _check(self, sock: socket.socket, address: Any, call: str) -> None:
        if sock.family == getattr(socket, "AF_UNIX", None):
            return
        if not isinstance(address, tuple) or len(address) < 2:
            return
        host, port = str(address[0]), address[1]
        shown = f"socket.{call}({(host, port)!r})"
        if not _loopback(host):
            reason = "unit tests may not open non-loopback sockets (no network, no services)"
        elif port in self.llm_ports:
            reason = (
                f"port {port} is an Ollama (real LLM) port; unit tests use "
                "tests.utils.mock_providers.MockLLMProvider"
            )
        else:
            return
        message = f"{shown} in unit test {_Current.nodeid}: {reason}; move it to tests/integration"
        _Current.violations.append(message)
        raise TierViolation(message)

    def install(self) -> None:
        guard = self
        original_connect = socket.socket.connect
        original_connect_ex = socket.socket.connect_ex

        def connect(sock: socket.socket, address: Any) -> None:
            guard._check(sock, address, "connect")
            return original_connect(sock, address)

        def connect_ex(sock: socket.socket, address: Any) -> int:
            guard._check(sock, address, "connect_ex")
            return original_connect_ex(sock, address)

        self._saved = {"connect": original_connect, "connect_ex": original_connect_ex}
        socket.socket.connect = connect  # type: ignore[method-assign]
        socket.socket.connect_ex = connect_ex  # type: ignore[method-assign]

    def uninstall(self) -> None:
        for name, value in self._saved.items():
            setattr(socket.socket, name, value)
        self._saved = {}


# --- timeouts -----------------------------------------------------------------------------


def _timeout_for(item: pytest.Item, tier: str | None) -> float:
    marker = item.get_closest_marker("timeout")
    if marker is not None:
        seconds = marker.args[0] if marker.args else marker.kwargs.get("seconds")
        if not isinstance(seconds, int | float) or isinstance(seconds, bool) or seconds < 0:
            raise pytest.UsageError(
                f"{item.nodeid}: @pytest.mark.timeout needs a number of seconds >= 0, "
                f"got {seconds!r}"
            )
        base = float(seconds)
    else:
        base = DEFAULT_TIMEOUTS.get(tier or "", DEFAULT_TIMEOUTS["unit"])
    scale = item.config.getoption("--tier-timeout-scale")
    if scale is None:
        scale = float(os.environ.get("KAIZEN_TEST_TIMEOUT_SCALE", "1") or 1)
    return base * scale


@contextlib.contextmanager
def _deadline(seconds: float, nodeid: str, tier: str | None) -> Generator[None, None, None]:
    """SIGALRM in the main thread (nested-safe: an outer timer is restored, minus the time
    spent); elsewhere a watchdog thread that dumps every stack and exits."""
    if seconds <= 0:
        yield
        return
    message = (
        f"{nodeid} exceeded its {seconds:g}s timeout ({tier or 'unit'} tier default, or "
        "@pytest.mark.timeout); a hang or a wait without a deadline?"
    )
    if hasattr(signal, "SIGALRM") and threading.current_thread() is threading.main_thread():

        def on_alarm(signum: int, frame: Any) -> None:
            pytest.fail(message, pytrace=True)

        import time

        started = time.monotonic()
        previous_handler = signal.signal(signal.SIGALRM, on_alarm)
        previous_delay, previous_interval = signal.setitimer(signal.ITIMER_REAL, seconds)
        try:
            yield
        finally:
            signal.setitimer(signal.ITIMER_REAL, 0)
            signal.signal(signal.SIGALRM, previous_handler)
            if previous_delay:
                remaining = max(previous_delay - (time.monotonic() - started), 0.001)
                signal.setitimer(signal.ITIMER_REAL, remaining, previous_interval)
        return

    def watchdog() -> None:  # pragma: no cover - only without SIGALRM or off the main thread
        import faulthandler
        import sys

        sys.stderr.write(f"\n{message}\n")
        faulthandler.dump_traceback(all_threads=True)
        os._exit(1)

    timer = threading.Timer(seconds, watchdog)
    timer.daemon = True
    timer.start()
    try:
        yield
    finally:
        timer.cancel()


# --- per-test wiring ----------------------------------------------------------------------

_PORTS_KEY = pytest.StashKey[frozenset[int]]()


@pytest.hookimpl(wrapper=True)
def pytest_runtest_protocol(item: pytest.Item, nextitem: pytest.Item | None) -> Any:
    tier = _item_tier(item)
    config = item.config
    ports = config.stash.get(_PORTS_KEY, None)
    if ports is None:
        ports = config.stash[_PORTS_KEY] = frozenset(_ollama_ports())
    saved = (_Current.tier, _Current.nodeid, _Current.violations)
    _Current.tier, _Current.nodeid, _Current.violations = tier, item.nodeid, []
    guard = _SocketGuard(ports) if tier == "unit" else None
    if guard is not None:
        guard.install()
    use_timer = not config.pluginmanager.hasplugin("timeout")  # pytest-timeout wins if present
    try:
        with _deadline(_timeout_for(item, tier) if use_timer else 0, item.nodeid, tier):
            return (yield)
    finally:
        if guard is not None:
            guard.uninstall()
        _Current.tier, _Current.nodeid, _Current.violations = saved


@pytest.hookimpl(wrapper=True)
def pytest_runtest_call(item: pytest.Item) -> Generator[None, Any, Any]:
    """Fail a test whose guard tripped even if the code under test swallowed the error."""
    before = len(_Current.violations)
    result = yield
    new = _Current.violations[before:]
    if new:
        raise TierViolation("; ".join(new))
    return result
