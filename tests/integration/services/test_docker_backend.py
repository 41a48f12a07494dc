"""The Docker rung on a real engine: containers, labels, faults, and what is left behind.

Each test runs a Docker-only stack (KAIZEN_TEST_BACKENDS=docker) on free loopback ports in a
private state directory, with pulls disabled: the images are the ones KAIZEN_TEST_*_IMAGE
names (.ci/run points them at the local images of `engine build`). Without an engine the
tests skip with the reason; under CI=true with KAIZEN_TEST_REQUIRE_DOCKER=1 they fail.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import textwrap
import threading
from pathlib import Path

import pytest

from tests.utils._services import docker_backend as db
from tests.utils._services.health import check
from tests.utils._services.registry import Registry
from tests.utils._services.settings import REPO_ROOT, SERVICE_NAMES, load_settings
from tests.utils._services.stack import (
    ImageUnavailableError,
    PortOccupiedError,
    ServiceDiedError,
    Stack,
    make_private_state_dir,
)
from tests.utils.integration_helpers import wait_for_condition

from .conftest import docker_env, require_docker


def _container(container_id: str):
    return db.client().containers.get(container_id)


def _gone(container_id: str) -> bool:
    import docker

    try:
        _container(container_id)
    except docker.errors.NotFound:
        return True
    return False


def _ours(state_dir: Path) -> list:
    return db.labelled({db.L_STATE: str(state_dir)})


def test_all_five_services_come_up_in_labelled_containers_on_loopback(docker_stack) -> None:
    stack = docker_stack(*SERVICE_NAMES)
    statuses = stack.ensure(list(SERVICE_NAMES))
    try:
        for name, status in statuses.items():
            assert status.healthy and status.backend == "docker", name
            assert status.pid is None and status.container_id, name
            container = _container(status.container_id)
            labels = container.labels
            assert labels[db.L_SERVICE] == name
            assert labels[db.L_RUN] == stack.run_id and labels[db.L_OWNER] == stack.member
            assert labels[db.L_KIND] == "run" and labels[db.L_HOST] == db.this_host()
            spec = db.spec_for(stack.settings[name])
            assert labels[db.L_SPEC] == spec.digest()
            bindings = container.attrs["HostConfig"]["PortBindings"][spec.port_key]
            assert bindings == [{"HostIp": "127.0.0.1", "HostPort": str(status.port)}], name
            # the one definition of healthy, from the host
            assert check(stack.settings[name]).healthy, name
        rows = {r["service"]: r for r in stack.status_rows(list(SERVICE_NAMES))}
        for name, status in statuses.items():
            assert rows[name]["backend"] == "docker"
            assert rows[name]["id"] == f"container {status.container_id[:12]}"
            assert rows[name]["health"] == "healthy"
    finally:
        outcome = stack.release()
    assert sorted(outcome) == sorted(f"{s.service}@{s.endpoint}" for s in statuses.values())
    assert all(v.endswith("removed") for v in outcome.values()), outcome
    assert all(_gone(s.container_id) for s in statuses.values())
    assert Registry(stack.settings.state_dir).read()["services"] == {}


def test_the_mysql_init_script_grants_the_toolkit_schemas(docker_stack) -> None:
    """The spec's init file reaches /docker-entrypoint-initdb.d (as compose mounts it): the
    test user may create the toolkit's kzt_* schemas, nothing else."""
    import pymysql

    from tests.utils._services import isolation as iso

    stack = docker_stack("mysql")
    stack.ensure(["mysql"])
    s = stack.settings["mysql"]
    name = iso.mysql_create_database(s, iso.test_name())
    iso.mysql_drop_database(s, name)
    conn = pymysql.connect(
        host=s.host, port=s.port, user=s.user, password=s.password, ssl_disabled=True
    )
    try:
        with pytest.raises(pymysql.err.OperationalError, match="Access denied"):
            conn.cursor().execute("CREATE DATABASE not_ours")
    finally:
        conn.close()


def _cli(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "tests.utils.docker_config", *args],
        cwd=REPO_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )


def test_a_container_killed_mid_run_fails_loudly_and_up_recovers(private_state_dir) -> None:
    require_docker("redis")
    env = docker_env(private_state_dir)
    stack = Stack(settings=load_settings(env))
    status = stack.ensure(["redis"])["redis"]
    try:
        _container(status.container_id).kill()
        with pytest.raises(ServiceDiedError, match=r"redis \(docker, container \w{12}\) died"):
            stack.verify("redis")
        shown = _cli(env, "status", "redis")
        row = shown.stdout.splitlines()[1]
        assert "docker" in row and f"container {status.container_id[:12]}" in row
        assert "unhealthy" in row and "exited" in row, row
        up = _cli(env, "up", "redis")
        assert up.returncode == 0, up.stderr
        again = Registry(private_state_dir).records()[f"redis@{status.endpoint}"]
        assert again.container_id != status.container_id and again.backend == "docker"
        assert _gone(status.container_id), "the dead container is removed, not left exited"
        assert check(stack.settings["redis"]).healthy
    finally:
        stack.release()
        down = _cli(env, "down", "redis")
    assert down.returncode == 0 and "removed" in down.stdout, down.stdout
    assert _ours(private_state_dir) == []


_INNER_HOLD = textwrap.dedent("""
    import threading
    from pathlib import Path

    def test_hold(redis_service):
        Path({marker!r}).write_text(redis_service.container_id)
        threading.Event().wait(300)  # until the parent kills this run
""")


def _inner(tmp_path: Path, env: dict[str, str], marker: Path) -> subprocess.Popen[str]:
    (tmp_path / "test_inner.py").write_text(_INNER_HOLD.format(marker=str(marker)))
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
        cwd=tmp_path,
        env={**env, "PYTHONPATH": str(REPO_ROOT)},
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )


def _kill(proc: subprocess.Popen[str]) -> None:
    if proc.poll() is None:
        proc.kill()
    proc.wait(timeout=60)


def test_a_sigkilled_run_leaves_a_container_the_next_run_removes(tmp_path) -> None:
    """No teardown, no atexit: the container keeps running. A later run removes it by its
    labels even when the state file that recorded it is gone (another state directory)."""
    require_docker("redis")
    first_dir = make_private_state_dir(load_settings())
    env = docker_env(first_dir)
    marker = tmp_path / "marker"
    inner = _inner(tmp_path, env, marker)
    try:
        wait_for_condition(lambda: marker.exists() and marker.read_text(), 180, message="inner")
        container_id = marker.read_text()
        inner.send_signal(signal.SIGKILL)
        inner.wait(timeout=60)
    finally:
        _kill(inner)
    assert _container(container_id).status == "running", "SIGKILL leaves the container"
    (first_dir / "stack.json").unlink()  # the record is lost too: only the labels remain

    other = make_private_state_dir(load_settings())
    try:
        outcome = Stack(settings=load_settings(docker_env(other))).reap()
        (key,) = [k for k in outcome if k.startswith(f"container {container_id[:12]}")]
        assert "reaped (its owner" in outcome[key] and outcome[key].endswith("removed")
        assert _gone(container_id)
    finally:
        import shutil

        for path in (first_dir, other):
            Stack(settings=load_settings(docker_env(path))).down()
            shutil.rmtree(path, ignore_errors=True)


def test_sigterm_removes_the_containers_the_run_started(tmp_path, private_state_dir) -> None:
    require_docker("redis")
    env = docker_env(private_state_dir)
    marker = tmp_path / "marker"
    inner = _inner(tmp_path, env, marker)
    try:
        wait_for_condition(lambda: marker.exists() and marker.read_text(), 180, message="inner")
        container_id = marker.read_text()
        inner.send_signal(signal.SIGTERM)
        out = inner.communicate(timeout=120)[0]
    finally:
        _kill(inner)
    assert inner.returncode != 0, out
    assert _gone(container_id), out
    assert Registry(private_state_dir).read()["services"] == {}


def test_ctrl_c_during_up_removes_the_container_being_started(private_state_dir) -> None:
    """The LLM server loads its model for seconds: the interrupt lands while `up` waits."""
    require_docker("ollama")
    env = docker_env(private_state_dir)
    # A shell runs background jobs with SIGINT ignored (bash without job control: so does
    # .ci/docker-pass), and Python then installs no KeyboardInterrupt handler; Ctrl-C at a
    # terminal is delivered, so restore that (as test_faults_edges does).
    interruptible = (
        "import runpy, signal; signal.signal(signal.SIGINT, signal.default_int_handler); "
        "runpy.run_module('tests.utils.docker_config', run_name='__main__', alter_sys=True)"
    )
    up = subprocess.Popen(
        [sys.executable, "-c", interruptible, "up", "ollama"],
        cwd=REPO_ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:

        def created() -> str | None:
            records = Registry(private_state_dir).records()
            rec = next(iter(records.values()), None)
            return rec.container_id if rec and rec.state == "starting" else None

        container_id = wait_for_condition(created, 120, 0.01, message="container created")
        up.send_signal(signal.SIGINT)
        out, err = up.communicate(timeout=120)
    finally:
        _kill(up)  # type: ignore[arg-type]
    assert up.returncode == 130, (out, err)
    assert "interrupted; stopped what this command started (ollama" in err
    assert _gone(container_id)
    assert _ours(private_state_dir) == []


def test_a_foreign_process_on_the_port_is_named(docker_stack) -> None:
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(8)
    port = listener.getsockname()[1]
    stop = threading.Event()

    def serve() -> None:  # accepts and hangs up: not Redis
        listener.settimeout(0.1)
        while not stop.is_set():
            try:
                listener.accept()[0].close()
            except OSError:
                continue

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    try:
        stack = docker_stack("redis", KAIZEN_TEST_REDIS_PORT=str(port))
        outcome = stack.ensure_outcomes(["redis"])["redis"]
    finally:
        stop.set()
        thread.join(timeout=5)
        listener.close()
    assert isinstance(outcome, PortOccupiedError), outcome
    assert f"127.0.0.1:{port} is held by pid {os.getpid()}" in str(outcome)
    assert _ours(stack.settings.state_dir) == [], "no container was started"


def test_a_foreign_container_on_the_port_is_named_and_left_alone(docker_stack) -> None:
    """A container the toolkit did not start (no labels), publishing our port."""
    stack = docker_stack("redis")
    s = stack.settings["redis"]
    foreign = db.client().containers.run(
        s.image,
        command=["redis-server", "--requirepass", "not-the-toolkits"],
        ports={"6379/tcp": ("127.0.0.1", s.port)},
        detach=True,
        name=f"foreign-{s.port}",
    )
    try:
        wait_for_condition(
            lambda: check(s).reason not in (None, "connection refused"), 30, message="listening"
        )
        outcome = stack.ensure_outcomes(["redis"])["redis"]
        assert isinstance(outcome, PortOccupiedError), outcome
        assert f"container foreign-{s.port} ({foreign.short_id}, image {s.image})" in str(outcome)
        stack.reap()
        stack.down()
        foreign.reload()
        assert foreign.status == "running", "never removed: it is not the toolkit's"
    finally:
        foreign.remove(force=True)


def test_a_missing_image_is_a_clear_error_and_never_pulled(docker_stack) -> None:
    image = "local/kaizen-no-such-image:0.0"
    stack = docker_stack(KAIZEN_TEST_REDIS_IMAGE=image)
    outcome = stack.ensure_outcomes(["redis"])["redis"]
    assert isinstance(outcome, ImageUnavailableError), outcome
    assert outcome.image == image
    text = str(outcome)
    assert f"image {image} for redis is not on the engine and pulling is disabled" in text
    assert "engine build redis" in text
    assert Registry(stack.settings.state_dir).read()["services"] == {}
    # Under "missing" the engine really is asked (and, with no registry, says why not):
    # the difference proves "never" asked nothing.
    pulling = docker_stack(KAIZEN_TEST_REDIS_IMAGE=image, KAIZEN_TEST_DOCKER_PULL="missing")
    tried = pulling.ensure_outcomes(["redis"])["redis"]
    assert isinstance(tried, ImageUnavailableError) and "pulling it failed (" in str(tried)


def test_status_of_the_cli_shows_backend_and_container(private_state_dir) -> None:
    require_docker("redis")
    env = docker_env(private_state_dir)
    try:
        up = _cli(env, "up", "redis")
        assert up.returncode == 0, up.stderr
        assert "redis: starting a container of" in up.stdout
        state = json.loads((private_state_dir / "stack.json").read_text())
        (record,) = state["services"].values()
        assert record["owner_kind"] == "cli" and record["backend"] == "docker"
        again = _cli(env, "up", "redis")
        assert "re-attached to docker server" in again.stdout
        status = _cli(env, "status", "redis")
        header, row = status.stdout.splitlines()[:2]
        assert header.split() == [
            "SERVICE",
            "BACKEND",
            "ENDPOINT",
            "VERSION",
            "STARTED",
            "ID",
            "HEALTH",
        ]
        assert row.split()[:2] == ["redis", "docker"]
        assert f"container {record['container_id'][:12]}" in row and "healthy" in row
    finally:
        down = _cli(env, "down", "redis")
    assert down.returncode == 0 and "removed" in down.stdout
    assert _ours(private_state_dir) == []
