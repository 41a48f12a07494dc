"""pytest plugin for `make mutation` only (`-p tests.mutation_state` in [tool.mutmut]): each
test session gets a state directory of its own and uses the mutation stack's servers as
already-running ones (`KAIZEN_TEST_BACKENDS=running`).

Why: mutmut runs every mutant's tests in a fresh pytest session against the same servers,
and the toolkit's registry, identity and settings code is itself mutated. Sharing the
stack's state file, one mutant wrote a claim as `null`, another created the lock file under
a wrong name and one stopped a server it took for its own: every later session then failed
on the corrupt file or the missing server, and every later mutant counted as killed. In a
state directory of its own a session can corrupt only its own state, and on the running rung
it records no server process, so it has no PID it could signal. `make mutation` starts the
servers (`docker_config up`, in the state directory of the mutation stack) and stops them.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

import pytest

#: the sessions' directories, under the mutation stack's own state directory, so that
#: `make mutation` removes what sessions mutmut killed on a timeout left, and nothing else
SESSIONS = "mutant-sessions"
_made: list[Path] = []


def sessions_root() -> Path:
    stack = os.environ.get("KAIZEN_TEST_STATE_DIR")
    return Path(stack) / SESSIONS if stack else Path(tempfile.gettempdir())


@pytest.hookimpl(tryfirst=True)
def pytest_load_initial_conftests(early_config: pytest.Config) -> None:
    """Before any conftest or test module can read the service settings."""
    root = sessions_root()
    root.mkdir(parents=True, exist_ok=True)
    path = Path(tempfile.mkdtemp(prefix="session-", dir=root))
    _made.append(path)
    os.environ["KAIZEN_TEST_STATE_DIR"] = str(path)
    os.environ["KAIZEN_TEST_BACKENDS"] = "running"


def pytest_unconfigure(config: pytest.Config) -> None:
    while _made:
        shutil.rmtree(_made.pop(), ignore_errors=True)
