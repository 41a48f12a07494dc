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

It also installs the guard (tests/mutation_site/sitecustomize.py) in the session and in
every Python process it starts: a mutant may remove, rename over or truncate files only
under the temporary directory, the repository, the stack's state directory, the
interpreter's own trees and ~/.cache, and signal only processes of the run's own tree.
"""

from __future__ import annotations

import contextlib
import importlib.util
import os
import shutil
import sys
import tempfile
from pathlib import Path

import pytest

#: the sessions' directories, under the mutation stack's own state directory, so that
#: `make mutation` removes what sessions mutmut killed on a timeout left, and nothing else
SESSIONS = "mutant-sessions"
_made: list[Path] = []
SITE_DIR = Path(__file__).resolve().parent / "mutation_site"
_GUARD_MODULE = "kaizen_mutation_deletion_guard"


def guard_roots() -> list[str]:
    """Where a mutant may destroy files: what tests and the servers' state legitimately use."""
    roots = [tempfile.gettempdir(), os.getcwd(), str(Path(__file__).resolve().parent.parent)]
    roots += [sys.prefix, sys.base_prefix, str(Path.home() / ".cache")]
    if os.environ.get("KAIZEN_TEST_STATE_DIR"):
        roots.append(os.environ["KAIZEN_TEST_STATE_DIR"])
    return roots


def install_deletion_guard() -> None:
    """In this process (once) and, through PYTHONPATH, in every Python child it starts."""
    from importlib.machinery import ModuleSpec

    roots = os.pathsep.join(guard_roots())
    os.environ["KAIZEN_MUTATION_GUARD_ROOTS"] = roots
    if not os.environ.get("KAIZEN_MUTATION_GUARD_PID", "").isdigit():
        # the run's root: mutmut's process (or a bare pytest session); servers the run
        # starts work in pytest's temporary directories or in the sessions' state dirs
        os.environ["KAIZEN_MUTATION_GUARD_PID"] = str(os.getpid())
        os.environ["KAIZEN_MUTATION_GUARD_CWDS"] = os.pathsep.join(
            [f"{sessions_root()}{os.sep}", str(Path(tempfile.gettempdir()) / "pytest-of-")]
        )
    path = os.environ.get("PYTHONPATH", "")
    if str(SITE_DIR) not in path.split(os.pathsep):
        os.environ["PYTHONPATH"] = os.pathsep.join(p for p in (str(SITE_DIR), path) if p)
    if _GUARD_MODULE in sys.modules:  # a forked session of a process that has it already
        return
    spec = importlib.util.spec_from_file_location(_GUARD_MODULE, SITE_DIR / "sitecustomize.py")
    assert isinstance(spec, ModuleSpec) and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[_GUARD_MODULE] = module
    spec.loader.exec_module(module)  # installs both hooks (their settings are in the env)


def sessions_root() -> Path:
    stack = os.environ.get("KAIZEN_TEST_STATE_DIR")
    return Path(stack) / SESSIONS if stack else Path(tempfile.gettempdir())


@pytest.hookimpl(tryfirst=True)
def pytest_load_initial_conftests(early_config: pytest.Config) -> None:
    """Before any conftest or test module can read the service settings."""
    install_deletion_guard()
    root = sessions_root()
    root.mkdir(parents=True, exist_ok=True)
    path = Path(tempfile.mkdtemp(prefix="session-", dir=root))
    _made.append(path)
    os.environ["KAIZEN_TEST_STATE_DIR"] = str(path)
    os.environ["KAIZEN_TEST_BACKENDS"] = "running"


def stop_leftovers(directory: Path, timeout_s: float = 10.0) -> list[int]:
    """Stop the processes still working in `directory` (a session's own state dir, made by
    this session): servers a mutant's broken stop code left running. Returns their PIDs."""
    import psutil

    inside = str(directory.resolve()) + os.sep
    found = []
    for proc in psutil.process_iter():
        try:
            if (proc.cwd() + os.sep).startswith(inside):
                found.append(proc)
        except psutil.Error:
            continue
    for proc in found:
        with contextlib.suppress(psutil.Error):
            proc.terminate()
    _, alive = psutil.wait_procs(found, timeout=timeout_s)
    for proc in alive:
        with contextlib.suppress(psutil.Error):
            proc.kill()
    return [p.pid for p in found]


def pytest_unconfigure(config: pytest.Config) -> None:
    while _made:
        path = _made.pop()
        stop_leftovers(path)
        shutil.rmtree(path, ignore_errors=True)
