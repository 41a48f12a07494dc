"""Skip locally, fail under CI=true or --require-services; the already-running rung."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap

import pytest

from tests.utils._services.health import check
from tests.utils._services.settings import REPO_ROOT, load_settings

from .conftest import free_port

INNER = textwrap.dedent("""
    import pytest

    @pytest.mark.requires_services("redis")
    def test_needs_redis():
        raise AssertionError("must not run without redis")
""")


def _inner_run(tmp_path, private_state_dir, *args: str, ci: bool) -> subprocess.CompletedProcess:
    (tmp_path / "test_inner.py").write_text(INNER)
    env = dict(
        os.environ,
        KAIZEN_TEST_STATE_DIR=str(private_state_dir),
        KAIZEN_TEST_REDIS_PORT=str(free_port()),
        KAIZEN_TEST_BACKENDS="running",
        PYTHONPATH=str(REPO_ROOT),
    )
    env.pop("CI", None)
    if ci:
        env["CI"] = "true"
    return subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "-q",
            "-rsfE",
            "-p",
            "tests.utils.pytest_services",
            "-p",
            "no:cacheprovider",
            "test_inner.py",
            *args,
        ],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_unreachable_service_skips_locally_with_the_rung_reasons(tmp_path, private_state_dir):
    done = _inner_run(tmp_path, private_state_dir, ci=False)
    assert done.returncode == 0, done.stdout
    assert "1 skipped" in done.stdout
    assert "connection refused" in done.stdout and "disabled by KAIZEN_TEST_BACKENDS" in done.stdout


@pytest.mark.parametrize("how", ["CI=true", "--require-services"])
def test_unreachable_service_fails_in_ci_or_when_required(tmp_path, private_state_dir, how):
    args = ("--require-services",) if how == "--require-services" else ()
    done = _inner_run(tmp_path, private_state_dir, *args, ci=how == "CI=true")
    assert done.returncode == 1, done.stdout
    assert "1 error" in done.stdout or "1 failed" in done.stdout  # setup failure = error
    assert "required service unavailable" in done.stdout and "connection refused" in done.stdout
    assert "must not run" not in done.stdout


def test_already_running_server_is_used_as_is_and_never_stopped(private_stack, private_state_dir):
    """The machine's own PostgreSQL on 5432 (trust auth), pointed at by env overrides."""
    overrides = {
        "KAIZEN_TEST_POSTGRES_PORT": "5432",
        "KAIZEN_TEST_POSTGRES_USER": "postgres",
        "KAIZEN_TEST_POSTGRES_DB": "postgres",
        "KAIZEN_TEST_POSTGRES_PASSWORD": "",
    }
    probe = check(load_settings({**os.environ, **overrides})["postgresql"])
    if not probe.healthy:
        pytest.skip(f"no machine-provided PostgreSQL on 5432 to use as a target: {probe.reason}")
    stack = private_stack(**overrides)
    status = stack.ensure(["postgresql"])["postgresql"]
    assert status.backend == "running" and status.pid is None
    state = json.loads((private_state_dir / "stack.json").read_text())
    assert state["services"] == {}, "an already-running server must not be recorded"
    assert stack.release() == {}
    assert check(stack.settings["postgresql"]).healthy
