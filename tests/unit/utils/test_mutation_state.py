"""`make mutation`'s session plugin: each pytest session gets a state directory of its own,
under the mutation stack's, on the running rung, and removes it when it ends."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[3]

SUITE = """
import os
from pathlib import Path

def test_own_state_dir():
    path = Path(os.environ["KAIZEN_TEST_STATE_DIR"])
    assert path.is_dir()
    assert os.environ["KAIZEN_TEST_BACKENDS"] == "running"
    (Path(os.environ["SEEN_FILE"])).write_text(str(path))
"""


def test_a_session_gets_its_own_state_dir_under_the_stacks_and_removes_it(
    pytester: pytest.Pytester, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    stack = tmp_path / "stack"
    stack.mkdir()
    seen = tmp_path / "seen"
    monkeypatch.setenv("KAIZEN_TEST_STATE_DIR", str(stack))
    monkeypatch.setenv("KAIZEN_TEST_BACKENDS", "local")
    monkeypatch.setenv("SEEN_FILE", str(seen))
    monkeypatch.setenv("PYTHONPATH", str(REPO))
    pytester.makepyfile(test_it=SUITE)
    result = pytester.runpytest_subprocess("-p", "tests.mutation_state", "-p", "no:cacheprovider")
    result.assert_outcomes(passed=1)
    session_dir = Path(seen.read_text())
    assert session_dir.parent == stack / "mutant-sessions"
    assert not session_dir.exists()  # removed at the end of the session
    assert os.environ["KAIZEN_TEST_STATE_DIR"] == str(stack)  # the parent's is untouched
