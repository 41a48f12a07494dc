"""The public API as users write it, and the CLI round trip."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time

import pytest

from tests.utils._services.settings import REPO_ROOT

from .conftest import free_port


async def test_ensure_docker_services_as_written() -> None:
    from tests.utils import ensure_docker_services

    statuses = await ensure_docker_services()
    assert set(statuses) == {"postgresql", "redis"}
    assert all(s.healthy and s.version for s in statuses.values())


async def test_manager_waits_for_healthy_services_as_written() -> None:
    from tests.utils.docker_config import DockerServicesManager

    manager = DockerServicesManager()
    await manager.start_services(["postgresql", "redis"])
    assert await manager.wait_for_services_healthy(["postgresql", "redis"]) is True
    report = await manager.check_service_health("postgresql")
    assert report.healthy and report.latency_ms > 0
    assert report.endpoint == manager.stack.settings["postgresql"].endpoint


def test_wait_times_out_false_on_a_dead_port(private_stack) -> None:
    from tests.utils.docker_config import DockerServicesManager

    stack = private_stack(KAIZEN_TEST_REDIS_PORT=str(free_port()))
    manager = DockerServicesManager(stack)
    started = time.perf_counter()
    assert manager.wait_for_services_healthy_sync(["redis"], timeout=0.5) is False
    assert time.perf_counter() - started < 3
    assert manager.last_reports["redis"].reason.startswith("not healthy after 0.5s")


@pytest.mark.requires_services("redis")
def test_cli_up_status_reattach_down(private_state_dir) -> None:
    port = free_port()
    env = dict(
        os.environ,
        KAIZEN_TEST_STATE_DIR=str(private_state_dir),
        KAIZEN_TEST_REDIS_PORT=str(port),
        KAIZEN_TEST_BACKENDS="running,local",
    )

    def cli(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "tests.utils.docker_config", *args],
            cwd=REPO_ROOT,
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
        )

    try:
        up = cli("up", "redis")
        assert up.returncode == 0, up.stderr
        assert "redis: starting a local server" in up.stdout
        assert f"127.0.0.1:{port}" in up.stdout and "healthy" in up.stdout
        state = json.loads((private_state_dir / "stack.json").read_text())
        (record,) = state["services"].values()
        assert record["owner_kind"] == "cli", "`up` must leave the stack running"
        again = cli("up", "redis")
        assert again.returncode == 0 and "re-attached to local server" in again.stdout
        status = cli("status", "redis")
        assert status.stdout.splitlines()[0].split()[:3] == ["SERVICE", "BACKEND", "ENDPOINT"]
        assert "local" in status.stdout and "healthy" in status.stdout
    finally:
        down = cli("down", "redis")
    assert down.returncode == 0 and "stopped" in down.stdout
    assert json.loads((private_state_dir / "stack.json").read_text())["services"] == {}
