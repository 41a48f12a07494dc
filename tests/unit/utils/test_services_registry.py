"""State file, run membership, PID identity, claims and stopping exactly the recorded process."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from tests.utils._services.identity import ProcessIdentity, Verdict, identify, verify
from tests.utils._services.registry import (
    ProcessRecord,
    RefusedClaimError,
    Registry,
    StateFileError,
    UnverifiedProcessError,
    find_processes_using,
    member_alive,
    new_member,
    pid_alive,
    remove_data_dir,
    stop_process,
)
from tests.utils._services.settings import load_settings
from tests.utils._services.stack import Stack

_IDLE = "import threading; threading.Event().wait(120)"


def _record(pid, identity="auto", **kw) -> ProcessRecord:
    if identity == "auto":
        identity = identify(pid) if pid else None
    base = dict(
        service="redis",
        endpoint="127.0.0.1:1",
        backend="local",
        pid=pid,
        identity=identity,
        owner_kind="run",
        run_id="r1",
        started_at="now",
        start_ms=1.0,
    )
    base.update(kw)
    return ProcessRecord(**base)


@pytest.fixture
def idle():
    proc = subprocess.Popen([sys.executable, "-c", _IDLE])
    yield proc
    if proc.poll() is None:
        proc.kill()
    proc.wait()


def test_state_round_trip_and_membership(tmp_path) -> None:
    reg = Registry(tmp_path)
    me = new_member()
    with reg.locked():
        reg.put(_record(os.getpid(), data_dir=str(tmp_path / "d")))
        reg.join("r1", me)
        (rec,) = reg.records().values()
        assert rec.identity == identify(os.getpid()) and rec.data_dir == str(tmp_path / "d")
        assert reg.live_users(reg.read(), "r1") == [me]
        assert reg.leave("r1", me) == []
        assert reg.read()["runs"] == {}


@pytest.mark.parametrize(
    ("content", "problem"),
    [
        (b"\xff\xfe garbage \x00", "not UTF-8"),
        (b"{nope", "not JSON"),
        (b"[1, 2]", "expected a JSON object, got list"),
        (b'{"services": {}, "extra": 1}', "unknown top-level keys"),
        (b'{"services": {"k": {"service": "redis", "surprise": 1}}}', "unknown fields"),
        (b'{"services": {"k": {"service": "redis"}}}', "missing fields"),
        (b'{"runs": {"r": ["abc:def"]}}', "has no numeric PID"),
        (b'{"runs": {"r": "1:a"}}', "members must be a list"),
        (b'{"claims": {"redis@x/1": 3}}', "claim 'redis@x/1' is malformed"),
    ],
)
def test_corrupt_state_file_is_one_clear_error(tmp_path, content: bytes, problem: str) -> None:
    (tmp_path / "stack.json").write_bytes(content)
    with pytest.raises(StateFileError, match="is corrupt") as info:
        Registry(tmp_path).read()
    assert problem in str(info.value) and "delete the file" in str(info.value)


def test_a_record_with_a_non_numeric_pid_is_corrupt(tmp_path) -> None:
    data = {"services": {"k": {**_record(None).to_json(), "pid": "12x"}}}
    (tmp_path / "stack.json").write_text(json.dumps(data))
    with pytest.raises(StateFileError, match="pid must be a positive integer"):
        Registry(tmp_path).read()


def test_identity_is_the_kernel_start_tick_not_the_wall_clock(idle) -> None:
    ident = identify(idle.pid)
    assert ident is not None and ident.start_ticks is not None and ident.boot_id
    assert verify(ident) == (Verdict.SAME, f"pid {idle.pid} is the recorded process")
    recycled = ProcessIdentity(idle.pid, ident.boot_id, ident.start_ticks - 1)
    assert verify(recycled)[0] is Verdict.GONE, "another process under our PID is not ours"
    other_boot = ProcessIdentity(idle.pid, "another-boot", ident.start_ticks)
    assert verify(other_boot)[0] is Verdict.GONE
    idle.kill()
    idle.wait()
    assert verify(ident)[0] is Verdict.GONE


def test_a_wall_clock_step_does_not_change_the_verdict(idle, monkeypatch) -> None:
    """The fault of issue 10 item 1: psutil's create_time moved 11-19 s with the clock."""
    import time

    import psutil

    ident = identify(idle.pid)
    real_time, real_boot = time.time, psutil.boot_time
    monkeypatch.setattr(time, "time", lambda: real_time() + 15.0)
    monkeypatch.setattr(psutil, "boot_time", lambda: real_boot() + 15.0)
    assert verify(ident)[0] is Verdict.SAME
    assert pid_alive(idle.pid, ident)


def test_a_running_pid_without_identity_is_unknown_and_never_signalled(idle) -> None:
    """Issue 10 item 2: a record with no verifiable identity must not be signalled."""
    assert verify(None, idle.pid)[0] is Verdict.UNKNOWN
    legacy = ProcessRecord.from_json({**_record(idle.pid).to_json(), "identity": None})
    with pytest.raises(UnverifiedProcessError, match=f"refusing to signal pid {idle.pid}"):
        stop_process(legacy)
    assert idle.poll() is None, "the unverifiable process must still be running"


def test_version_1_records_load_without_a_usable_identity(idle) -> None:
    old = {**_record(idle.pid).to_json(), "create_time": 123.0}
    del old["identity"], old["state"], old["starter"]
    rec = ProcessRecord.from_json(old)
    assert rec.identity is None and rec.verdict()[0] is Verdict.UNKNOWN


def test_members_carry_their_start_tick(idle) -> None:
    me = new_member()
    assert member_alive(me)
    ticks = identify(idle.pid).start_ticks
    assert member_alive(f"{idle.pid}:{ticks}:x")
    assert not member_alive(f"{idle.pid}:{ticks + 1}:x"), "a recycled PID is a new member"
    assert member_alive(f"{idle.pid}:x"), "old-style members: alive while the PID runs"
    idle.kill()
    idle.wait()
    assert not member_alive(f"{idle.pid}:{ticks}:x")


def test_stop_process_sends_the_recorded_signal_then_kills() -> None:
    code = (
        "import signal, sys, threading; signal.signal(signal.SIGTERM, signal.SIG_IGN); "
        "print('ready', flush=True); threading.Event().wait(120)"
    )
    stubborn = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True)
    try:
        assert stubborn.stdout is not None and stubborn.stdout.readline().strip() == "ready"
        rec = _record(stubborn.pid)
        assert stop_process(rec, timeout_s=0.5) == "killed (SIGKILL after 0.5s)"
        assert not pid_alive(stubborn.pid, rec.identity)
    finally:
        if stubborn.poll() is None:
            stubborn.kill()
        stubborn.wait()
    assert stop_process(rec) == "already gone"


def test_stop_process_uses_the_recorded_signal() -> None:
    code = (
        "import signal, sys, threading; "
        "signal.signal(signal.SIGINT, lambda *a: sys.exit(42)); "
        "signal.signal(signal.SIGTERM, signal.SIG_IGN); "
        "print('ready', flush=True); threading.Event().wait(120)"
    )
    proc = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True)
    try:
        assert proc.stdout is not None and proc.stdout.readline().strip() == "ready"
        rec = _record(proc.pid, stop_signal=int(signal.SIGINT))
        assert stop_process(rec, timeout_s=10) == "stopped (signal SIGINT)"
    finally:
        if proc.poll() is None:
            proc.kill()
        proc.wait()


def _stack(state_dir: Path) -> Stack:
    return Stack(settings=load_settings({"KAIZEN_TEST_STATE_DIR": str(state_dir)}))


def test_reap_removes_dead_records_and_stops_orphans(tmp_path) -> None:
    orphan = subprocess.Popen([sys.executable, "-c", _IDLE])
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead_ident = identify(dead.pid)
    dead.wait()
    reg = Registry(tmp_path)
    with reg.locked():
        reg.put(_record(orphan.pid, run_id="gone", endpoint="127.0.0.1:2"))
        reg.put(_record(dead.pid, dead_ident, endpoint="127.0.0.1:3", run_id="live"))
        data = reg.read()
        data["runs"] = {"gone": [f"{dead.pid}:x"]}
        reg.write(data)
    outcome = _stack(tmp_path).reap()
    assert outcome["redis@127.0.0.1:3"] == "record of a dead server removed"
    assert outcome["redis@127.0.0.1:2"].startswith("reaped: stopped")
    assert orphan.wait(timeout=5) is not None
    assert json.loads((tmp_path / "stack.json").read_text())["services"] == {}


def test_reap_leaves_an_unverifiable_server_and_its_data_alone(tmp_path, idle) -> None:
    """Never delete a data directory of a process the toolkit cannot prove dead."""
    data_dir = tmp_path / "data" / "redis-1"
    data_dir.mkdir(parents=True)
    reg = Registry(tmp_path)
    with reg.locked():
        reg.put(_record(idle.pid, None, run_id="gone", data_dir=str(data_dir)))
    outcome = _stack(tmp_path).reap()
    assert outcome["redis@127.0.0.1:1"].startswith("left alone: pid")
    assert data_dir.is_dir() and idle.poll() is None
    assert list(reg.records()) == ["redis@127.0.0.1:1"]
    down = _stack(tmp_path).down(["redis"])
    assert down["redis@127.0.0.1:1"].startswith("refused: refusing to signal")
    assert data_dir.is_dir() and idle.poll() is None


def test_reap_stops_what_a_dead_starter_spawned_before_recording_its_pid(tmp_path) -> None:
    """Issue 10 item 5: the "starting" record leads the next run to the server."""
    data_dir = tmp_path / "data" / "redis-9"
    data_dir.mkdir(parents=True)
    server = subprocess.Popen([sys.executable, "-c", _IDLE, str(data_dir)])
    dead_starter = subprocess.Popen([sys.executable, "-c", "pass"])
    starter = f"{dead_starter.pid}:{identify(dead_starter.pid).start_ticks}:x"
    dead_starter.wait()
    try:
        assert find_processes_using(str(data_dir)) == [server.pid]
        assert find_processes_using(str(data_dir) + "0") == [], "a path prefix is not a match"
        reg = Registry(tmp_path)
        with reg.locked():
            reg.put(_record(None, state="starting", starter=starter, data_dir=str(data_dir)))
        outcome = _stack(tmp_path).reap()
        assert "start abandoned by a dead starter" in outcome["redis@127.0.0.1:1"]
        assert server.wait(timeout=10) is not None
        assert not data_dir.exists() and reg.records() == {}
    finally:
        if server.poll() is None:
            server.kill()
        server.wait()


def test_a_live_starters_record_is_left_to_it(tmp_path) -> None:
    reg = Registry(tmp_path)
    with reg.locked():
        reg.put(_record(None, state="starting", starter=new_member()))
    assert _stack(tmp_path).reap() == {}
    assert list(reg.records()) == ["redis@127.0.0.1:1"]


def test_allocate_gives_concurrent_members_different_indexes(tmp_path, idle) -> None:
    """Issue 10 item 3: the index no longer depends on the xdist worker id alone."""
    reg = Registry(tmp_path)
    other = f"{idle.pid}:{identify(idle.pid).start_ticks}:o"
    seen: list[tuple[int, bool]] = []

    def usable(index: int, ours: bool) -> str | None:
        seen.append((index, ours))
        return None

    with reg.locked():
        assert reg.allocate("redis@h:1", range(1, 16), other, "run-a", usable) == 1
        me = new_member()
        assert reg.allocate("redis@h:1", range(1, 16), me, "run-b", usable) == 2
        assert reg.allocate("redis@h:1", range(1, 16), me, "run-b", usable) == 2, "idempotent"
        reg.release_claim("redis@h:1", 1, me)  # not ours: left as it is
        assert set(reg.read()["claims"]) == {"redis@h:1/1", "redis@h:1/2"}
    idle.kill()
    idle.wait()
    with reg.locked():  # the dead member's index is reusable, and its leftovers are "ours"
        assert reg.allocate("redis@h:1", range(1, 16), new_member(), "run-c", usable) == 1
    assert seen[-1] == (1, True)


def test_a_refused_index_writes_no_claim(tmp_path) -> None:
    """Issue 10 item 4: refusing must leave the bookkeeping as it was."""
    reg = Registry(tmp_path)
    with reg.locked(), pytest.raises(RefusedClaimError, match="1: holds 3 foreign keys"):
        reg.allocate(
            "redis@h:1", range(1, 2), new_member(), "r", lambda i, o: "holds 3 foreign keys"
        )
    assert reg.read()["claims"] == {}


def test_data_dir_removal_is_confined_to_the_state_dir(tmp_path) -> None:
    # The refused path is a victim of this test's own, beside the state directory: a guard
    # that fails (a regression, or a mutant under `make mutation`) deletes only that. This
    # test once named /etc here, and a mutant of the guard deleted the machine's /etc.
    state, victim = tmp_path / "state", tmp_path / "outside" / "keep"
    victim.mkdir(parents=True)
    (victim / "file").write_text("x")
    with pytest.raises(RuntimeError, match=r"refusing to delete .*keep: not under "):
        remove_data_dir(str(victim), state)
    assert (victim / "file").read_text() == "x"
    with pytest.raises(RuntimeError, match="refusing to delete"):
        remove_data_dir(str(state), state)  # the state directory itself is not inside it
    inner = state / "data" / "x"
    inner.mkdir(parents=True)
    remove_data_dir(str(inner), state)
    assert not inner.exists() and state.is_dir()


def test_status_says_when_a_record_cannot_be_verified(tmp_path, idle) -> None:
    reg, stack = Registry(tmp_path), _stack(tmp_path)
    with reg.locked():
        reg.put(_record(idle.pid, None, run_id="gone", endpoint=stack.settings["redis"].endpoint))
    (row,) = stack.status_rows(["redis"])
    assert (
        f"left alone: pid {idle.pid} is running but its start identity was never" in row["health"]
    )
    assert f"stop pid {idle.pid} yourself" in row["health"]


def test_threads_of_one_process_never_lose_each_others_updates(tmp_path) -> None:
    """The stack starts services on one thread each; a join racing a put lost records (and
    two writers of one PID renamed each other's temp file away)."""
    import threading as th

    reg = Registry(tmp_path)
    errors: list[BaseException] = []

    def writer(n: int) -> None:
        try:
            for i in range(15):
                reg.put(_record(None, endpoint=f"127.0.0.1:{n * 100 + i}"))
                reg.join(f"run-{n}", f"{n}:{i}:x")
        except BaseException as exc:  # surfaced below
            errors.append(exc)

    threads = [th.Thread(target=writer, args=(n,)) for n in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert errors == []
    data = reg.read()
    assert len(data["services"]) == 90 and len(data["runs"]) == 6
    assert all(len(members) == 15 for members in data["runs"].values())


def test_a_private_state_dir_once_removed_is_never_recreated(tmp_path) -> None:
    from tests.utils._services.registry import StateDirGoneError
    from tests.utils._services.stack import make_private_state_dir

    settings = load_settings({"KAIZEN_TEST_STATE_DIR": str(tmp_path / "shared")})
    private = make_private_state_dir(settings)
    assert (private / "owner").is_file()  # never visible without its owner file
    assert not [p for p in private.parent.iterdir() if p.name.startswith(".")]
    stack = Stack(settings=load_settings({"KAIZEN_TEST_STATE_DIR": str(private)}))
    stack.reap()
    for child in private.iterdir():
        child.unlink()
    private.rmdir()  # as the fixture's teardown or a reaper does
    with pytest.raises(StateDirGoneError, match="no longer exists"):
        stack.reap()
    assert not private.exists()
    shared = Stack(settings=settings)  # the shared directory is made on demand, as before
    shared.reap()
    assert settings.state_dir.is_dir()


_HAND_STARTER = """
import subprocess, sys, threading
from tests.utils._services.registry import OwnRecord
from tests.utils._services.settings import load_settings
from tests.utils._services.stack import make_private_state_dir
root = make_private_state_dir(load_settings())
record = OwnRecord(root, "ollama-server", "127.0.0.1:1", create=False)
child = subprocess.Popen([sys.executable, "-c", "import threading; threading.Event().wait(120)"])
record.spawned(child.pid, ["idle"])
print(child.pid, root, flush=True)
threading.Event().wait(120)
"""


def test_a_hand_started_server_of_a_killed_owner_is_stopped_by_the_next_reap(tmp_path) -> None:
    from tests.utils._services.polling import poll
    from tests.utils._services.settings import REPO_ROOT
    from tests.utils._services.stack import reap_private_stacks

    env = {**os.environ, "KAIZEN_TEST_STATE_DIR": str(tmp_path / "shared")}
    owner = subprocess.Popen(
        [sys.executable, "-c", _HAND_STARTER], cwd=REPO_ROOT, env=env, stdout=subprocess.PIPE
    )
    assert owner.stdout is not None
    pid_text, root = owner.stdout.readline().decode().split()
    pid = int(pid_text)
    ident = identify(pid)
    try:
        assert not reap_private_stacks(load_settings(env))  # its owner is alive: untouched
        os.kill(owner.pid, signal.SIGKILL)
        owner.wait(10)
        assert pid_alive(pid, ident)  # orphaned
        outcome = reap_private_stacks(load_settings(env))
        assert poll(lambda: not pid_alive(pid, ident), 10), outcome
        assert not Path(root).exists(), outcome
    finally:
        if pid_alive(pid, ident):
            os.kill(pid, signal.SIGKILL)


def _dead_pid() -> int:
    gone = subprocess.Popen([sys.executable, "-c", "pass"])
    gone.wait()
    return gone.pid


def test_a_claim_of_a_live_member_is_refused_naming_its_run(tmp_path) -> None:
    reg, live = Registry(tmp_path), new_member()  # this process: alive
    with reg.locked():
        data = reg.read()
        data["claims"] = {"redis@h:1/1": {"member": live, "run": "run-a"}}
        reg.write(data)
        with pytest.raises(RefusedClaimError) as info:
            reg.allocate("redis@h:1", range(1, 2), new_member(), "r", lambda i, o: None)
    assert info.value.reasons == {1: "claimed by run run-a"}


def test_an_old_style_claim_is_held_while_its_run_has_a_live_member(tmp_path) -> None:
    """Claims written by older clones are the run id alone: its live users decide."""
    reg = Registry(tmp_path)
    seen: list[tuple[int, bool]] = []
    with reg.locked():
        data = reg.read()
        data["claims"] = {"redis@h:1/1": "run-old", "redis@h:1/2": "run-dead"}
        data["runs"] = {"run-old": [new_member()], "run-dead": [f"{_dead_pid()}:x"]}
        reg.write(data)
        me = new_member()
        index = reg.allocate(
            "redis@h:1", range(1, 3), me, "r", lambda i, ours: seen.append((i, ours))
        )
        claims = reg.read()["claims"]
    assert index == 2 and seen == [(2, True)]  # the dead run's index is ours to flush
    assert claims["redis@h:1/1"] == "run-old"  # the live one's is left as it is
    assert claims["redis@h:1/2"] == {"member": me, "run": "r"}


def test_an_old_style_claim_of_a_live_run_is_refused_naming_the_run(tmp_path) -> None:
    reg = Registry(tmp_path)
    with reg.locked():
        data = reg.read()
        data["claims"] = {"redis@h:1/1": "run-old"}
        data["runs"] = {"run-old": [new_member()]}
        reg.write(data)
        with pytest.raises(RefusedClaimError) as info:
            reg.allocate("redis@h:1", range(1, 2), new_member(), "r", lambda i, o: None)
    assert info.value.reasons == {1: "claimed by run run-old"}


def test_leaving_a_run_returns_the_members_still_alive_and_drops_an_empty_run(tmp_path) -> None:
    reg, me, other = Registry(tmp_path), new_member(), new_member()
    with reg.locked():
        data = reg.read()
        data["runs"] = {"r": [me, other, f"{_dead_pid()}:x"], "solo": [me]}
        reg.write(data)
        assert reg.leave("r", me) == [other]
        assert reg.read()["runs"]["r"] == [other]  # kept: a live member remains
        assert reg.leave("solo", me) == []
        assert "solo" not in reg.read()["runs"]
        assert reg.leave("never-joined", me) == []
        assert set(reg.read()["runs"]) == {"r"}


def test_removing_a_record_that_is_not_there_is_not_an_error(tmp_path) -> None:
    reg = Registry(tmp_path)
    with reg.locked():
        reg.remove("redis@127.0.0.1:1")
        assert reg.read()["services"] == {}
