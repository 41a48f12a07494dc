"""Helpers for failure-path tests: a private stack on free ports in its own state dir, so
killing or occupying things never disturbs the run's shared stack."""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.utils._services.ports import free_port
from tests.utils._services.settings import load_settings
from tests.utils._services.stack import Stack, make_private_state_dir


@pytest.fixture
def private_state_dir() -> Iterator[Path]:
    # Not pytest's tmp_path: the postgres/mysql users must traverse it (0700 parents there).
    # Under the shared state dir, with an owner file: a later run reaps it after a SIGKILL.
    path = make_private_state_dir(load_settings())
    yield path
    shutil.rmtree(path, ignore_errors=True)


@pytest.fixture
def private_stack(private_state_dir: Path) -> Iterator[Callable[..., Stack]]:
    """Factory: Stack(**env overrides) with local/running backends in a private state dir."""
    made: list[Stack] = []

    def make(**overrides: str) -> Stack:
        env = dict(os.environ)
        env.update(
            {
                "KAIZEN_TEST_STATE_DIR": str(private_state_dir),
                "KAIZEN_TEST_BACKENDS": "running,local",
                **overrides,
            }
        )
        stack = Stack(settings=load_settings(env))
        made.append(stack)
        return stack

    yield make
    for stack in made:
        stack.release()
        stack.down()


# -- the Docker backend on a real engine ---------------------------------------------------
#: every service's port key: a private Docker stack gets free ports for all of them
PORT_KEYS = {
    "postgresql": "KAIZEN_TEST_POSTGRES_PORT",
    "redis": "KAIZEN_TEST_REDIS_PORT",
    "mysql": "KAIZEN_TEST_MYSQL_PORT",
    "mongodb": "KAIZEN_TEST_MONGODB_PORT",
    "ollama": "KAIZEN_TEST_OLLAMA_PORT",
}


def docker_unavailable(services: tuple[str, ...] = ()) -> str | None:
    """Why the Docker tests cannot run here (no engine, or a service's image missing)."""
    from tests.utils._services import docker_backend

    reason = docker_backend.engine_status(refresh=True)
    if reason is not None:
        return f"Docker: {reason}"
    settings = load_settings()
    import docker

    missing = []
    for name in services:
        image = settings[name].image or "?"
        try:
            docker_backend.client().images.get(image)
        except docker.errors.ImageNotFound:
            missing.append(image)
    if missing:
        return (
            f"images not on the engine: {', '.join(missing)} (build the local ones: "
            "python -m tests.utils._services.engine build, and set KAIZEN_TEST_*_IMAGE)"
        )
    return None


def require_docker(*services: str) -> None:
    """Skip with the reason; fail instead under CI=true with KAIZEN_TEST_REQUIRE_DOCKER=1
    (what .ci/run sets once it has started an engine and built the images)."""
    reason = docker_unavailable(services)
    if reason is None:
        return
    required = os.environ.get("KAIZEN_TEST_REQUIRE_DOCKER", "").strip() in ("1", "true", "yes")
    ci = os.environ.get("CI", "").strip().lower() in ("1", "true", "yes")
    if ci and required:
        pytest.fail(f"Docker required (KAIZEN_TEST_REQUIRE_DOCKER=1): {reason}", pytrace=False)
    pytest.skip(reason)


def docker_env(state_dir: Path, **overrides: str) -> dict[str, str]:
    """Environment of a private Docker-only stack: its own state dir, free ports, no pulls."""
    env = dict(os.environ)
    env.update({key: str(free_port()) for key in PORT_KEYS.values()})
    env.update(
        {
            "KAIZEN_TEST_STATE_DIR": str(state_dir),
            "KAIZEN_TEST_BACKENDS": "docker",
            "KAIZEN_TEST_DOCKER_PULL": "never",
            **overrides,
        }
    )
    env.pop("PYTEST_XDIST_WORKER", None)
    return env


@pytest.fixture
def docker_stack(private_state_dir: Path) -> Iterator[Callable[..., Stack]]:
    """Factory: a Docker-only Stack (env overrides) in a private state dir; whatever it
    started is removed afterwards, by record and by the state dir's container labels."""
    made: list[Stack] = []

    def make(*services: str, **overrides: str) -> Stack:
        require_docker(*services)
        stack = Stack(settings=load_settings(docker_env(private_state_dir, **overrides)))
        made.append(stack)
        return stack

    yield make
    for stack in made:
        stack.release()
        stack.down()
