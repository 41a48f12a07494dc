"""Faults of issue 10 on real processes: clock steps, foreign PIDs, killed starters, a
SIGKILLed private stack, concurrent runs sharing one Redis, a refused cleanup.

Each test runs its own servers on free loopback ports in a private state directory; every
process a test starts is stopped by PID before it returns, and every wait has a deadline.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import psutil
import pytest
import redis

from tests.utils._services.identity import identify
from tests.utils._services.registry import Registry, pid_alive
from tests.utils._services.settings import REPO_ROOT, load_settings
from tests.utils._services.stack import Stack, make_private_state_dir
from tests.utils.integration_helpers import wait_for_condition

from .conftest import free_port

pytestmark = pytest.mark.requires_services("redis")  # binaries present <=> redis comes up

_IDLE = "import threading; threading.Event().wait(120)"


def _env(state_dir: Path, **overrides: str) -> dict[str, str]:
    env = dict(os.environ, KAIZEN_TEST_STATE_DIR=str(state_dir), PYTHONPATH=str(REPO_ROOT))
    env.update({"KAIZEN_TEST_BACKENDS": "running,local", **overrides})
    env.pop("CI", None)
    env.pop("PYTEST_XDIST_WORKER", None)
    return env


def _stack(state_dir: Path, **overrides: str) -> Stack:
    return Stack(settings=load_settings(_env(state_dir, **overrides)))


def _kill(proc: subprocess.Popen[bytes] | subprocess.Popen[str]) -> None:
    if proc.poll() is None:
        proc.kill()
    proc.wait(timeout=30)


def _processes_using(path: Path) -> list[int]:
    from tests.utils._services.registry import find_processes_using

    return find_processes_using(str(path))


# -- 1. a wall-clock step ------------------------------------------------------------------
def test_a_clock_step_leaves_live_servers_and_their_data_alone(private_state_dir) -> None:
    """What a 15 s clock step looks like to a wall-clock identity: every recorded time moves.

    Before the fix, the next reap called the live server dead, deleted its data directory
    and forgot it without stopping it.
    """
    port = str(free_port())
    owner = _stack(private_state_dir, KAIZEN_TEST_REDIS_PORT=port)
    owner.owner_kind = "cli"  # persistent until `down`: only the identity decides
    status = owner.ensure(["redis"])["redis"]
    try:
        data = json.loads((private_state_dir / "stack.json").read_text())
        for record in data["services"].values():
            record["create_time"] = (record.get("create_time") or 0.0) + 15.0
            if record.get("identity") and record["identity"].get("create_time"):
                record["identity"]["create_time"] += 15.0
        (private_state_dir / "stack.json").write_text(json.dumps(data))
        data_dir = Path(next(iter(data["services"].values()))["data_dir"])

        later = _stack(private_state_dir, KAIZEN_TEST_REDIS_PORT=port)
        assert later.reap() == {}
        assert data_dir.is_dir(), "the live server's data directory must survive"
        assert pid_alive(status.pid) and list(Registry(private_state_dir).records())
        again = later.ensure(["redis"])["redis"]
        assert again.pid == status.pid, "the next run re-attaches to the same server"
    finally:
        stopped = _stack(private_state_dir, KAIZEN_TEST_REDIS_PORT=port).down(["redis"])
    assert next(iter(stopped.values())).startswith("stopped")
    assert not pid_alive(status.pid)


# -- 2. a foreign PID in the state file ----------------------------------------------------
@pytest.mark.parametrize("identity", ["null", "another process's"])
def test_a_foreign_pid_in_the_state_file_is_never_signalled(
    private_state_dir, identity: str
) -> None:
    foreign = subprocess.Popen([sys.executable, "-c", _IDLE])
    try:
        port = str(free_port())
        stack = _stack(private_state_dir, KAIZEN_TEST_REDIS_PORT=port)
        stack.owner_kind = "cli"
        stack.ensure(["redis"])
        stack.down(["redis"])  # a real record shape, then point it at the foreign process
        data_dir = private_state_dir / "data" / f"redis-{port}"
        data_dir.mkdir(parents=True)
        ident = identify(foreign.pid)
        assert ident is not None
        record = {
            "service": "redis",
            "endpoint": f"127.0.0.1:{port}",
            "backend": "local",
            "pid": foreign.pid,
            "identity": None
            if identity == "null"
            else {**ident.to_json(), "start_ticks": (ident.start_ticks or 0) - 7},
            "owner_kind": "run",
            "run_id": "a-run-long-gone",
            "started_at": "then",
            "start_ms": 1.0,
            "data_dir": str(data_dir),
        }
        state = {"services": {f"redis@127.0.0.1:{port}": record}, "runs": {}}
        (private_state_dir / "stack.json").write_text(json.dumps(state))

        outcome = _stack(private_state_dir, KAIZEN_TEST_REDIS_PORT=port).reap()
        down = _stack(private_state_dir, KAIZEN_TEST_REDIS_PORT=port).down(["redis"])
        assert foreign.poll() is None, "the foreign process must never be signalled"
        if identity == "null":
            assert "cannot be proven to be ours" in outcome[f"redis@127.0.0.1:{port}"]
            assert down[f"redis@127.0.0.1:{port}"].startswith("refused: refusing to signal")
            assert data_dir.is_dir(), "nothing is deleted under an unverifiable process"
        else:  # provably another process: the record is dropped, the process untouched
            assert outcome == {f"redis@127.0.0.1:{port}": "record of a dead server removed"}
            assert down == {}
    finally:
        _kill(foreign)


# -- 5. a starter killed at several moments ------------------------------------------------
_STARTER = textwrap.dedent("""
    import os, sys
    sys.path.insert(0, {repo!r})
    from tests.utils._services.settings import load_settings
    from tests.utils._services.stack import Stack
    Stack(settings=load_settings(dict(os.environ)), owner_kind="cli").ensure([{service!r}])
    print("healthy", flush=True)
    import threading; threading.Event().wait(120)
""")


def _record_of(state_dir: Path) -> dict | None:
    try:
        services = json.loads((state_dir / "stack.json").read_text())["services"]
    except (FileNotFoundError, json.JSONDecodeError):
        return None
    return next(iter(services.values()), None)


@pytest.mark.parametrize(
    "moment",
    ["record written", "pid recorded", "port open (bootstrap under way)"],
)
def test_a_starter_killed_mid_start_leaves_nothing_after_the_next_reap(
    private_state_dir, moment: str
) -> None:
    """MariaDB's bootstrap takes about a second after the spawn: the window of item 5."""
    import shutil as _sh

    if not (_sh.which("mariadbd") or Path("/usr/sbin/mariadbd").exists()):
        pytest.skip("mariadbd not installed")
    port = free_port()
    env = _env(private_state_dir, KAIZEN_TEST_MYSQL_PORT=str(port))
    starter = subprocess.Popen(
        [sys.executable, "-c", _STARTER.format(repo=str(REPO_ROOT), service="mysql")],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    data_dir = private_state_dir / "data" / f"mysql-{port}"
    try:

        def reached() -> bool:
            rec = _record_of(private_state_dir)
            if rec is None:
                return False
            if moment == "record written":
                return True
            if moment == "pid recorded":
                return rec["pid"] is not None
            return rec["pid"] is not None and any(
                c.laddr.port == port for c in psutil.Process(rec["pid"]).net_connections()
            )

        wait_for_condition(reached, 120, 0.005, message=moment, ignore=(psutil.Error,))
        starter.send_signal(signal.SIGKILL)
        starter.wait(timeout=30)
        wait_for_condition(
            lambda: identify(starter.pid) is None, 10, message="starter gone"
        )  # not a zombie either: Popen.wait reaped it
        outcome = _stack(private_state_dir, KAIZEN_TEST_MYSQL_PORT=str(port)).reap()
        assert any("start abandoned by a dead starter" in v for v in outcome.values()), outcome
        assert _record_of(private_state_dir) is None
        wait_for_condition(
            lambda: not _processes_using(data_dir), 30, message="the spawned server stopped"
        )
        assert not data_dir.exists()
    finally:
        _kill(starter)
        for pid in _processes_using(data_dir):  # never leave a server behind, even on failure
            psutil.Process(pid).kill()


# -- 7. a private stack orphaned by SIGKILL ------------------------------------------------
_PRIVATE_OWNER = textwrap.dedent("""
    import json, os, sys
    sys.path.insert(0, {repo!r})
    from dataclasses import replace
    from tests.utils._services.settings import load_settings
    from tests.utils._services.stack import Stack, make_private_state_dir
    settings = load_settings(dict(os.environ))
    private = make_private_state_dir(settings)
    status = Stack(settings=replace(settings, state_dir=private)).ensure(["redis"])["redis"]
    print(json.dumps({{"pid": status.pid, "dir": str(private)}}), flush=True)
    import threading; threading.Event().wait(120)
""")


def test_a_private_stack_killed_with_sigkill_is_reaped_by_the_next_run(tmp_path) -> None:
    main_dir = tmp_path / "state"
    env = _env(main_dir, KAIZEN_TEST_REDIS_PORT=str(free_port()))
    owner = subprocess.Popen(
        [sys.executable, "-c", _PRIVATE_OWNER.format(repo=str(REPO_ROOT))],
        env=env,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert owner.stdout is not None
        line = json.loads(owner.stdout.readline())
        assert pid_alive(line["pid"])
        owner.send_signal(signal.SIGKILL)
        owner.wait(timeout=30)
        assert pid_alive(line["pid"]), "SIGKILL leaves the private redis running"
        outcome = Stack(settings=load_settings(env)).reap()
        assert any("reaped" in v or "stopped" in v for v in outcome.values()), outcome
        wait_for_condition(lambda: not pid_alive(line["pid"]), 10, message="redis stopped")
        assert not Path(line["dir"]).exists(), "the private state directory is removed"
    finally:
        _kill(owner)


def test_a_live_private_stack_is_not_touched(tmp_path) -> None:
    sibling = make_private_state_dir(load_settings(_env(tmp_path)))
    (sibling / "stack.json").write_text('{"services": {}, "runs": {}}')
    assert _stack(tmp_path).reap() == {}
    assert (sibling / "stack.json").is_file(), "its owner (this process) is alive"


# -- 3 and 4. Redis db claims across runs --------------------------------------------------
_INNER_CONCURRENT = textwrap.dedent("""
    from pathlib import Path

    from tests.utils.integration_helpers import wait_for_condition

    def test_sees_only_its_own_keys(redis_client):
        marker = Path(__file__).parent.name
        redis_client.set("owner", marker)
        barrier = Path({barrier!r})
        (barrier / marker).touch()
        wait_for_condition(lambda: len(list(barrier.iterdir())) >= 2, 90, message="peer")
        assert redis_client.keys("*") == ["owner"]
        assert redis_client.get("owner") == marker
        (barrier / (marker + ".done")).touch()
        wait_for_condition(lambda: len(list(barrier.iterdir())) >= 4, 90, message="peer done")
""")


def _inner_pytest(cwd: Path, env: dict[str, str]) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [
            sys.executable,
            "-m",
            "pytest",
            "-q",
            "-p",
            "tests.utils.pytest_services",
            "-p",
            "no:cacheprovider",
            "-p",
            "no:randomly",
            "test_inner.py",
        ],
        cwd=cwd,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )


@pytest.fixture
def private_redis(private_state_dir):
    """A redis-server of this test's own, recorded in the private state dir as `up` does."""
    port = str(free_port())
    stack = _stack(private_state_dir, KAIZEN_TEST_REDIS_PORT=port)
    stack.owner_kind = "cli"
    status = stack.ensure(["redis"])["redis"]
    yield status
    stack.down(["redis"])


def test_two_concurrent_runs_never_share_a_redis_db(tmp_path, private_state_dir, private_redis):
    """Item 3: both runs' first worker used to get db 1, and one's FLUSHDB hit the other."""
    barrier = tmp_path / "barrier"
    barrier.mkdir()
    env = _env(private_state_dir, KAIZEN_TEST_REDIS_PORT=str(private_redis.port))
    runs = []
    for name in ("clone_a", "clone_b"):
        (tmp_path / name).mkdir()
        (tmp_path / name / "test_inner.py").write_text(
            _INNER_CONCURRENT.format(barrier=str(barrier))
        )
        runs.append(_inner_pytest(tmp_path / name, env))
    try:
        outputs = [proc.communicate(timeout=240)[0] for proc in runs]
    finally:
        for proc in runs:
            _kill(proc)
    for proc, out in zip(runs, outputs, strict=True):
        assert proc.returncode == 0, out
    claims = Registry(private_state_dir).read()["claims"]
    assert claims == {}, "each run released its claim"


_INNER_ONE = textwrap.dedent("""
    def test_uses_a_db_of_its_own(redis_client):
        assert redis_client.connection_pool.connection_kwargs["db"] != 1
        assert redis_client.dbsize() == 0
        redis_client.set("mine", "1")
""")


def test_a_db_with_foreign_keys_is_skipped_and_never_inherited(
    tmp_path, private_state_dir, private_redis
) -> None:
    """Item 4: a refused claim stayed in the state file and the next run flushed db 1."""
    foreign = redis.Redis(host="127.0.0.1", port=private_redis.port, db=1)
    foreign.set("somebody-else", "precious")
    (tmp_path / "test_inner.py").write_text(_INNER_ONE)
    env = _env(private_state_dir, KAIZEN_TEST_REDIS_PORT=str(private_redis.port))
    try:
        for attempt in range(2):
            proc = _inner_pytest(tmp_path, env)
            try:
                out = proc.communicate(timeout=240)[0]
            finally:
                _kill(proc)
            assert proc.returncode == 0, f"run {attempt + 1}: {out}"
            assert foreign.get("somebody-else") == b"precious"
            assert Registry(private_state_dir).read()["claims"] == {}
    finally:
        foreign.close()


# -- pytest itself SIGKILLed mid-test ------------------------------------------------------
_INNER_HOLD = textwrap.dedent("""
    import threading
    from pathlib import Path

    def test_hold(redis_client, redis_service):
        redis_client.set("left-behind", "1")
        db = redis_client.connection_pool.connection_kwargs["db"]
        Path({marker!r}).write_text(f"{{redis_service.pid}} {{db}}")
        threading.Event().wait(120)  # until the parent SIGKILLs this run
""")


def test_a_sigkilled_pytest_run_leaves_nothing_the_next_run_keeps(tmp_path, private_state_dir):
    """No teardown, no atexit: the next run stops the server, and the dead run's Redis db
    (whose claim it never released) is reusable, its leftovers flushed as ours."""
    port = free_port()
    marker = tmp_path / "marker"
    (tmp_path / "test_inner.py").write_text(_INNER_HOLD.format(marker=str(marker)))
    inner = _inner_pytest(tmp_path, _env(private_state_dir, KAIZEN_TEST_REDIS_PORT=str(port)))
    try:
        wait_for_condition(lambda: marker.exists() and marker.read_text(), 120, message="inner")
        pid, db = (int(x) for x in marker.read_text().split())
        inner.send_signal(signal.SIGKILL)
        inner.wait(timeout=30)
    finally:
        _kill(inner)
    assert pid_alive(pid), "SIGKILL leaves the run's redis-server behind"
    state = Registry(private_state_dir).read()
    assert [c["member"].split(":")[0] for c in state["claims"].values()] == [str(inner.pid)]

    later = _stack(private_state_dir, KAIZEN_TEST_REDIS_PORT=str(port))
    outcome = later.reap()
    assert outcome == {f"redis@127.0.0.1:{port}": "reaped: stopped (signal SIGTERM)"}
    wait_for_condition(lambda: not pid_alive(pid), 10, message="redis stopped")
    assert Registry(private_state_dir).read()["services"] == {}
    assert not (private_state_dir / "data" / f"redis-{port}").exists()
    assert db in range(1, 16)
