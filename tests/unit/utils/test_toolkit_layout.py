"""The toolkit stays readable: no module over 600 lines (split by concept instead)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

TOOLKIT = Path(__file__).resolve().parents[2] / "utils"
MAX_LINES = 600


@pytest.mark.skipif(
    "MUTANT_UNDER_TEST" in os.environ,
    reason="under mutmut a mutated module holds every mutant inline: not the source's length",
)
def test_no_toolkit_module_is_over_600_lines() -> None:
    sizes = {
        path.relative_to(TOOLKIT).as_posix(): len(path.read_text(encoding="utf-8").splitlines())
        for path in TOOLKIT.rglob("*.py")
    }
    assert len(sizes) > 50  # the walk found the toolkit
    over = {name: n for name, n in sizes.items() if n > MAX_LINES}
    assert over == {}, f"split these by concept (over {MAX_LINES} lines): {over}"
