"""Integration/e2e modules, the conftests above them in their tier and the local helper
modules they import are read with `ast` before import. `unittest.mock`, pytest-mock
(`mocker`), the backport `mock`, `tests.utils.mock_providers`, or `register_provider(...)`
with a factory not marked `@real_provider` make the module a collection error that says
why. What this static check cannot see, the `providers` guard catches at run time."""

from __future__ import annotations

import ast
import re
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.utils import UNIT_TIER_FAKES

from .layout import REAL_TIERS, TESTS_ROOT, tests_root, tier_of

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
    root = tests_root(config)
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
