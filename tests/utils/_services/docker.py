"""Docker backend: `docker compose up -d --wait` of docker-compose.test.yml, when an ENGINE
answers (a docker client alone is not enough, and is all our machines have)."""

from __future__ import annotations

import shutil
import subprocess
from functools import lru_cache

from .settings import COMPOSE_FILE, ENV_FILE

PROJECT = "kaizen-test"
COMPOSE_UP_TIMEOUT_S = 900.0


class DockerUnavailable(Exception):
    """No engine or no compose v2; the message says which."""


@lru_cache(maxsize=1)
def engine_status() -> str | None:
    """None if a Docker engine answers and compose v2 exists, else the reason."""
    docker = shutil.which("docker")
    if docker is None:
        return "docker CLI not on PATH"
    try:
        info = subprocess.run(
            [docker, "version", "--format", "{{.Server.Version}}"],
            capture_output=True,
            text=True,
            timeout=5,
        )
    except subprocess.TimeoutExpired:
        return "no engine answered within 5s"
    if info.returncode != 0 or not info.stdout.strip():
        detail = (info.stderr.strip().splitlines() or ["no server version"])[-1]
        return f"no engine answered ({detail})"
    compose = subprocess.run(
        [docker, "compose", "version"], capture_output=True, text=True, timeout=10
    )
    if compose.returncode != 0:
        return "engine answered but `docker compose` (v2) is not installed"
    return None


def compose_cmd(*args: str) -> list[str]:
    return [
        "docker",
        "compose",
        "-p",
        PROJECT,
        "-f",
        str(COMPOSE_FILE),
        "--env-file",
        str(ENV_FILE),
        *args,
    ]


def compose_up(services: list[str]) -> None:
    reason = engine_status()
    if reason is not None:
        raise DockerUnavailable(reason)
    targets = list(services)
    done = subprocess.run(
        compose_cmd("up", "-d", "--wait", *targets),
        capture_output=True,
        text=True,
        timeout=COMPOSE_UP_TIMEOUT_S,
    )
    if done.returncode != 0:
        tail = " | ".join(done.stderr.strip().splitlines()[-3:])
        raise DockerUnavailable(f"docker compose up failed ({done.returncode}): {tail}")


def compose_down(services: list[str]) -> None:
    if engine_status() is not None:
        return
    subprocess.run(compose_cmd("rm", "-s", "-f", "-v", *services), capture_output=True, timeout=300)
