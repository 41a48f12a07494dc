"""Helpers for inner pytest runs (pytester) with the project's own warning filters."""

from __future__ import annotations

import textwrap
import tomllib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[4]
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["pytest"]["ini_options"]


def ini(filterwarnings: list[str] | None = None, addopts: str = "") -> str:
    filters = PYPROJECT["filterwarnings"] if filterwarnings is None else filterwarnings
    lines = "\n".join(f"    {f}" for f in filters)
    return (
        textwrap.dedent(
            f"""\
        [pytest]
        asyncio_mode = auto
        asyncio_default_fixture_loop_scope = function
        addopts = -p tests.utils.pytest_tiers -p no:cacheprovider {addopts}
        filterwarnings =
        """
        )
        + lines
        + "\n"
    )


def write(p: pytest.Pytester, relative: str, source: str) -> Path:
    path = p.path / relative
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(textwrap.dedent(source))
    return path
