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


SITE = REPO / "tests" / "mutation_site"

GUARDED = r"""
import os, shutil, subprocess, sys
allowed, outside = sys.argv[1], sys.argv[2]
def refused(fn, *args, **kw):
    try:
        fn(*args, **kw)
    except PermissionError as exc:
        assert "deletion guard" in str(exc), exc
        return "refused"
    return "done"
print(refused(os.remove, os.path.join(outside, "f")))
print(refused(shutil.rmtree, outside, ignore_errors=True))
print(refused(os.replace, os.path.join(allowed, "a"), os.path.join(outside, "f")))
print(refused(os.rename, os.path.join(outside, "f"), os.path.join(allowed, "moved")))
print(refused(open, os.path.join(outside, "f"), "w"))
print(refused(os.truncate, os.path.join(outside, "f"), 0))
print(refused(open, os.path.join(outside, "new"), "a"))  # appending destroys nothing
print(refused(os.remove, os.path.join(allowed, "b")))
print(refused(shutil.rmtree, os.path.join(allowed, "tree")))
os.chdir(allowed)
print(refused(os.remove, os.path.join(os.path.relpath(outside), "f")))
child = "import os, sys; os.remove(sys.argv[1])"
print(subprocess.run([sys.executable, "-c", child, os.path.join(outside, "f")]).returncode)
"""


def test_the_deletion_guard_refuses_outside_its_roots_in_the_process_and_its_children(
    tmp_path: Path,
) -> None:
    import subprocess
    import sys

    allowed, outside = tmp_path / "allowed", tmp_path / "outside"
    (allowed / "tree" / "sub").mkdir(parents=True)
    outside.mkdir()
    for f in (allowed / "a", allowed / "b", allowed / "tree" / "sub" / "x", outside / "f"):
        f.write_text("keep")
    env = {
        **os.environ,
        "PYTHONPATH": str(SITE),
        "KAIZEN_MUTATION_GUARD_ROOTS": str(allowed),
    }
    done = subprocess.run(
        [sys.executable, "-c", GUARDED, str(allowed), str(outside)],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == [
        "refused", "refused", "refused", "refused", "refused", "refused",
        "done", "done", "done", "refused", "1",
    ]  # fmt: skip
    assert (outside / "f").read_text() == "keep"
    assert (allowed / "a").exists() and not (allowed / "b").exists()
    assert not (allowed / "tree").exists()


def test_a_mutation_session_is_guarded_and_so_are_the_pythons_it_starts(
    pytester: pytest.Pytester, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import uuid

    # outside every root of the guard (temporary directory, repository, interpreter, cache):
    # /dev/shm is a tmpfs of its own; this test's process itself is not guarded
    if os.environ.get("KAIZEN_MUTATION_GUARD_ROOTS"):
        pytest.skip("this session is itself under make mutation's guard: it could not clean up")
    victim = Path("/dev/shm") / f"kzt-guard-{uuid.uuid4().hex}"
    if not victim.parent.is_dir():
        pytest.skip("no /dev/shm here to hold a file outside the guard's roots")
    victim.write_text("keep")
    stack = tmp_path / "stack"
    stack.mkdir()
    monkeypatch.setenv("KAIZEN_TEST_STATE_DIR", str(stack))
    monkeypatch.setenv("PYTHONPATH", str(REPO))
    pytester.makepyfile(
        test_it=f"""
import os, subprocess, sys
import pytest

def test_removal_outside_is_refused():
    with pytest.raises(PermissionError, match="deletion guard"):
        os.remove({str(victim)!r})

def test_and_in_a_child():
    code = "import os; os.remove({str(victim)!r})"
    assert subprocess.run([sys.executable, "-c", code]).returncode == 1
"""
    )
    try:
        result = pytester.runpytest_subprocess(
            "-p", "tests.mutation_state", "-p", "no:cacheprovider"
        )
        result.assert_outcomes(passed=2)
        assert victim.read_text() == "keep"
    finally:
        victim.unlink(missing_ok=True)


SIGNALS = r"""
import importlib.util, os, signal, subprocess, sys
os.environ["KAIZEN_MUTATION_GUARD_PID"] = str(os.getpid())
spec = importlib.util.spec_from_file_location("guard", sys.argv[2])
spec.loader.exec_module(importlib.util.module_from_spec(spec))
foreign = int(sys.argv[1])
own = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
try:
    os.kill(foreign, signal.SIGTERM)
    print("sent")
except PermissionError as exc:
    print("refused" if "not a process of this mutation run" in str(exc) else exc)
os.kill(foreign, 0)  # probing is always allowed
os.kill(own.pid, signal.SIGTERM)
print(own.wait(timeout=30))
"""


def test_the_signal_guard_refuses_processes_the_run_did_not_start(tmp_path: Path) -> None:
    import subprocess
    import sys

    env = {k: v for k, v in os.environ.items() if not k.startswith("KAIZEN_MUTATION_GUARD")}
    foreign = subprocess.Popen(["sleep", "60"], env=env)  # a sibling, without the marker
    try:
        done = subprocess.run(
            [sys.executable, "-c", SIGNALS, str(foreign.pid), str(SITE / "sitecustomize.py")],
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert done.returncode == 0, done.stderr
        assert done.stdout.split() == ["refused", str(-15)]
        assert foreign.poll() is None  # untouched
    finally:
        foreign.kill()
        foreign.wait(timeout=30)


def test_a_session_stops_the_servers_left_working_in_its_directory(tmp_path: Path) -> None:
    import subprocess
    import sys

    from tests.mutation_state import stop_leftovers

    session, elsewhere = tmp_path / "session" / "data", tmp_path / "elsewhere"
    session.mkdir(parents=True)
    elsewhere.mkdir()
    idle = [sys.executable, "-c", "import time; time.sleep(60)"]
    leftover = subprocess.Popen(idle, cwd=session)
    bystander = subprocess.Popen(idle, cwd=elsewhere)
    try:
        assert stop_leftovers(tmp_path / "session") == [leftover.pid]
        assert leftover.wait(timeout=30) is not None
        assert bystander.poll() is None
    finally:
        for proc in (leftover, bystander):
            proc.kill()
            proc.wait(timeout=30)
