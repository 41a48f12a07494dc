"""Helpers for failure-path tests: a private stack on free ports in its own state dir, so
killing or occupying things never disturbs the run's shared stack."""

from __future__ import annotations

import os
import shutil
import socket
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.utils._services.settings import load_settings
from tests.utils._services.stack import Stack, make_private_state_dir


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


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
