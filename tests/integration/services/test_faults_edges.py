"""Edge faults of issue 10 on real processes: the template race, hung listeners, MariaDB's
root account, credentials in output, bad settings and Ctrl-C on the CLI.

Servers run on free loopback ports in a private state directory (never the shared stack:
other runs use its template database); every wait has a deadline.
"""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Callable, Iterator

import pytest

from tests.utils._services import isolation as iso
from tests.utils._services.health import CHECK_DEADLINE_S, check
from tests.utils._services.settings import SERVICE_NAMES, load_settings
from tests.utils._services.stack import Stack
from tests.utils.integration_helpers import wait_for_condition

from .conftest import free_port

#: several connections at once, each a real CREATE DATABASE attempt
_RACERS = 6
_ROUNDS = 4


# -- 6. kzt_template created by several workers at once ------------------------------------
@pytest.mark.requires_services("postgresql")  # binaries present <=> postgresql comes up
def test_template_creation_is_race_free(private_stack: Callable[..., Stack]) -> None:
    """Before the fix, 2 racers hit UniqueViolation on pg_database's unique index about 1
    run in 4; with 6 racers over 4 rounds the old code failed every time."""
    stack = private_stack(KAIZEN_TEST_POSTGRES_PORT=str(free_port()))
    s = stack.ensure(["postgresql"])["postgresql"].settings
    assert s is not None
    for _ in range(_ROUNDS):
        iso._admin_execute(
            lambda: iso._pg_admin(s), f'DROP DATABASE IF EXISTS "{iso.PG_TEMPLATE}" WITH (FORCE)'
        )
        barrier = threading.Barrier(_RACERS, timeout=30)
        errors: list[BaseException] = []

        def race(
            barrier: threading.Barrier = barrier, errors: list[BaseException] = errors
        ) -> None:
            try:
                barrier.wait()
                iso.pg_ensure_template(s)
            except BaseException as exc:  # collected: the assertion names every failure
                errors.append(exc)

        threads = [threading.Thread(target=race) for _ in range(_RACERS)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=60)
        assert not any(t.is_alive() for t in threads), "a racer did not finish within 60 s"
        assert errors == [], [f"{type(e).__name__}: {e}" for e in errors]
        conn = iso._pg_admin(s)
        try:
            with conn.cursor() as cur:
                cur.execute(
                    "SELECT count(*) FROM pg_database WHERE datname = %s", (iso.PG_TEMPLATE,)
                )
                assert cur.fetchone() == (1,)
        finally:
            conn.close()


# -- 8. a listener that accepts and never answers ------------------------------------------
_PORT_KEY = {
    "postgresql": "KAIZEN_TEST_POSTGRES_PORT",
    "redis": "KAIZEN_TEST_REDIS_PORT",
    "mysql": "KAIZEN_TEST_MYSQL_PORT",
    "mongodb": "KAIZEN_TEST_MONGODB_PORT",
    "ollama": "KAIZEN_TEST_OLLAMA_PORT",
}
#: scheduling slack on a busy 2-core machine; far below the old 5 s (Ollama) and 25 s (Redis)
_SLACK_S = 0.75


@pytest.fixture
def hung_port() -> Iterator[int]:
    """A loopback port whose listener accepts every connection and never sends a byte."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(16)
    listener.settimeout(0.05)
    stop = threading.Event()
    held: list[socket.socket] = []

    def accept() -> None:
        while not stop.is_set():
            try:
                held.append(listener.accept()[0])
            except TimeoutError:
                continue
            except OSError:
                return

    thread = threading.Thread(target=accept, name="hung-listener", daemon=True)
    thread.start()
    yield int(listener.getsockname()[1])
    stop.set()
    thread.join(timeout=5)
    for conn in held:
        conn.close()
    listener.close()


@pytest.mark.parametrize("deadline_s", [None, 0.5], ids=["default", "0.5s"])
@pytest.mark.parametrize("service", SERVICE_NAMES)
def test_a_hung_listener_is_unhealthy_within_the_deadline(
    service: str, deadline_s: float | None, hung_port: int
) -> None:
    """Before the fix: Redis ~25 s (client retries), Ollama ~5 s, PostgreSQL 2 s whatever
    the deadline (libpq's whole-second connect_timeout)."""
    s = load_settings({_PORT_KEY[service]: str(hung_port)})[service]
    bound = CHECK_DEADLINE_S if deadline_s is None else deadline_s
    started = time.monotonic()
    report = check(s) if deadline_s is None else check(s, deadline_s=deadline_s)
    elapsed = time.monotonic() - started
    assert not report.healthy
    step = _HUNG_STEP[service].format(user=s.user, database=s.database)
    assert report.reason == f"{step}: no answer within the {bound:.1f}s health-check deadline"
    assert elapsed < bound + _SLACK_S, f"{service}: {elapsed:.2f}s to {report.reason}"


#: the step each check is at when a listener accepts and never answers
_HUNG_STEP = {
    "postgresql": "connect as {user} to {database}",
    "redis": "connect",  # redis-py's connect sends its handshake and waits for the answer
    "mysql": "connect as {user} to {database}",
    "mongodb": "ping/round trip",
    "ollama": "GET /api/tags",
}


# -- 11. MariaDB's root on the toolkit's own server ----------------------------------------
@pytest.mark.requires_services("mysql")  # binaries present <=> mysql comes up
def test_local_mysql_root_needs_the_toolkits_password(
    private_stack: Callable[..., Stack],
) -> None:
    """Before the fix, root logged in over TCP with an empty password."""
    import os
    import stat
    from pathlib import Path

    import pymysql

    from tests.utils._services.catalog.mysql import MYSQL_ROOT_PASSWORD_FILE

    stack = private_stack(KAIZEN_TEST_MYSQL_PORT=str(free_port()))
    status = stack.ensure(["mysql"])["mysql"]
    s = status.settings
    assert s is not None and status.backend == "local"

    def connect(user: str, password: str) -> pymysql.connections.Connection:
        return pymysql.connect(
            host=s.host,
            port=s.port,
            user=user,
            password=password,
            ssl_disabled=True,
            connect_timeout=5,
        )

    rec = next(r for r in stack.registry.records().values() if r.service == "mysql")
    sock = str(Path(str(rec.data_dir)) / "mysqld.sock")
    for attempt in (
        lambda: connect("root", ""),
        lambda: pymysql.connect(unix_socket=sock, user="root", password="", connect_timeout=5),
    ):
        with pytest.raises(pymysql.err.OperationalError) as refused:
            attempt()
        assert refused.value.args[0] == 1045  # access denied, over TCP and the socket
    conn = connect(s.user or "", s.password or "")  # the documented test credentials
    try:
        with conn.cursor() as cur:
            cur.execute("SELECT CURRENT_USER()")
            assert str(cur.fetchone()[0]).startswith(f"{s.user}@")
    finally:
        conn.close()

    secret = Path(str(rec.data_dir)) / MYSQL_ROOT_PASSWORD_FILE
    assert stat.S_IMODE(secret.stat().st_mode) == 0o600 and secret.stat().st_uid == os.getuid()
    root = pymysql.connect(
        unix_socket=sock,
        user="root",
        password=secret.read_text(encoding="ascii"),
        connect_timeout=5,
    )
    try:
        with root.cursor() as cur:
            cur.execute(
                "SELECT CONCAT(User, '@', Host) FROM mysql.global_priv WHERE "
                "IFNULL(JSON_VALUE(Priv, '$.authentication_string'), '') = '' AND "
                "IFNULL(JSON_VALUE(Priv, '$.plugin'), '') IN ('mysql_native_password', '') AND "
                "IFNULL(JSON_EXTRACT(Priv, '$.account_locked'), 'false') <> 'true'"
            )
            assert cur.fetchall() == ()  # no account left with an empty password
    finally:
        root.close()


# -- 13b. Ctrl-C during `up` ---------------------------------------------------------------
@pytest.mark.requires_services("redis")  # binaries present <=> redis comes up
def test_ctrl_c_during_up_stops_what_it_started(private_state_dir) -> None:
    """`up redis ollama`: redis is healthy in milliseconds while the local LLM server still
    loads its model (seconds, and longer the busier the machine: the race cannot flip);
    SIGINT then. Before the fix: a raw KeyboardInterrupt traceback, and redis kept running."""
    import json
    import os
    import select
    import signal
    import subprocess
    import sys

    import psutil

    from tests.utils._services.settings import REPO_ROOT

    env = dict(
        os.environ,
        PYTHONPATH=str(REPO_ROOT),
        KAIZEN_TEST_STATE_DIR=str(private_state_dir),
        KAIZEN_TEST_BACKENDS="running,local",
        KAIZEN_TEST_REDIS_PORT=str(free_port()),
        KAIZEN_TEST_OLLAMA_PORT=str(free_port()),
    )
    env.pop("CI", None)
    env.pop("PYTEST_XDIST_WORKER", None)
    # A shell runs background jobs with SIGINT ignored (bash, no job control), and Python
    # then installs no KeyboardInterrupt handler: `up` run from a backgrounded CI script
    # would ignore the interrupt (exit 0). Ctrl-C at a terminal is delivered: restore that.
    interruptible = (
        "import runpy, signal; signal.signal(signal.SIGINT, signal.default_int_handler); "
        "runpy.run_module('tests.utils.docker_config', run_name='__main__', alter_sys=True)"
    )
    proc = subprocess.Popen(
        [sys.executable, "-c", interruptible, "up", "redis", "ollama"],
        cwd=REPO_ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    server_pid = None
    try:
        assert proc.stdout is not None
        deadline = time.monotonic() + 30
        seen = ""
        while "redis: healthy" not in seen:
            left = deadline - time.monotonic()
            assert left > 0, f"redis never became healthy; output so far: {seen!r}"
            if select.select([proc.stdout], [], [], left)[0]:
                line = proc.stdout.readline()
                assert line, f"`up` exited early: {seen!r}"
                seen += line

        def records() -> dict[str, dict]:
            state = json.loads((private_state_dir / "stack.json").read_text())
            return {r["service"]: r for r in state["services"].values()}

        server_pid = records()["redis"]["pid"]
        # Freeze the LLM server `up` is starting (its record names it, with its identity), so
        # `up` is provably still waiting when the interrupt lands, however fast the machine.
        llm = wait_for_condition(
            lambda: records().get("ollama", {}).get("pid"), timeout=60, message="LLM spawned"
        )
        os.kill(llm, signal.SIGSTOP)
        starting = [llm]
        try:
            # Read after the freeze: still "starting" means `up` has not finished its health
            # check, and everything left for it to do (that check, then `status`) needs the
            # frozen server, so it is provably waiting when the interrupt lands. (Read
            # before the freeze, a descheduled test let `up` finish first: exit 0.)
            assert records()["ollama"]["state"] == "starting", "`up` got there first"
            assert proc.poll() is None, "`up` finished before the interrupt: proves nothing"
            proc.send_signal(signal.SIGINT)
        finally:
            os.kill(llm, signal.SIGCONT)
        out, err = proc.communicate(timeout=60)
        assert proc.returncode == 130, (out, err)
        assert "Traceback" not in err and "KeyboardInterrupt" not in err, err
        last = err.strip().splitlines()[-1]
        assert last.startswith("interrupted; stopped what this command started ("), err
        assert "redis@" in last, err
        assert not psutil.pid_exists(server_pid) or (
            psutil.Process(server_pid).status() == psutil.STATUS_ZOMBIE
        ), f"redis server pid {server_pid} outlived the interrupted `up`"
        for pid in filter(None, starting):  # the LLM server it was still starting
            assert not psutil.pid_exists(pid) or (
                psutil.Process(pid).status() == psutil.STATUS_ZOMBIE
            ), f"the starting LLM server pid {pid} outlived the interrupted `up`"
        state = json.loads((private_state_dir / "stack.json").read_text())
        assert state["services"] == {}
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(timeout=30)
        leftover = Stack(
            settings=load_settings({**env, "KAIZEN_TEST_STATE_DIR": str(private_state_dir)})
        )
        leftover.down()  # by record and verified identity: only what this test started
