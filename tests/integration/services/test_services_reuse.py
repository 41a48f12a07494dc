"""Reuse between runs (KAIZEN_TEST_REUSE=1 / --reuse-services), on Docker and locally.

A run with reuse keeps the healthy servers it starts; the next run re-attaches to those
whose settings digest matches, and replaces one whose settings changed. `down` removes them.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from tests.utils._services import docker_backend as db
from tests.utils._services.registry import Registry, pid_alive
from tests.utils._services.settings import REPO_ROOT, load_settings
from tests.utils._services.stack import Stack, make_private_state_dir

from .conftest import docker_env, free_port, require_docker

_INNER = textwrap.dedent("""
    from pathlib import Path

    def test_uses_postgres_and_redis(postgres_service, redis_service, postgres_conn):
        with postgres_conn.cursor() as cur:
            cur.execute("SELECT 1")
        ids = [postgres_service.container_id, redis_service.container_id]
        Path({marker!r}).write_text(" ".join(ids))
""")


def _inner_run(tmp_path: Path, env: dict[str, str], *args: str) -> list[str]:
    marker = tmp_path / "marker"
    marker.unlink(missing_ok=True)
    (tmp_path / "test_inner.py").write_text(_INNER.format(marker=str(marker)))
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "-q",
            "-p",
            "tests.utils.pytest_services",
            "-p",
            "no:cacheprovider",
            "test_inner.py",
            *args,
        ],
        cwd=tmp_path,
        env={**env, "PYTHONPATH": str(REPO_ROOT)},
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    return marker.read_text().split()


def _running(container_id: str) -> bool:
    import docker

    try:
        return db.client().containers.get(container_id).status == "running"
    except docker.errors.NotFound:
        return False


def test_docker_reuse_keeps_containers_and_the_next_run_reattaches(
    tmp_path, private_state_dir
) -> None:
    require_docker("postgresql", "redis")
    env = docker_env(private_state_dir)
    try:
        first = _inner_run(tmp_path, env, "--reuse-services")
        assert all(_running(c) for c in first), "reuse: the run's containers are kept"
        kinds = {r.owner_kind for r in Registry(private_state_dir).records().values()}
        assert kinds == {"reuse"}
        second = _inner_run(tmp_path, {**env, "KAIZEN_TEST_REUSE": "1"})
        assert second == first, "the next run re-attaches to the same containers"

        # A changed setting (another password) replaces that service's container only.
        third = _inner_run(
            tmp_path, {**env, "KAIZEN_TEST_POSTGRES_PASSWORD": "other-pw"}, "--reuse-services"
        )
        assert third[0] != first[0] and third[1] == first[1]
        assert not _running(first[0]), "the container with the old settings is removed"
    finally:
        outcome = Stack(settings=load_settings(env)).down()
    assert all(v.endswith("removed") for v in outcome.values()), outcome
    assert db.labelled({db.L_STATE: str(private_state_dir)}) == []


def test_a_kept_container_is_found_by_its_labels_without_the_state_file(tmp_path) -> None:
    require_docker("redis")
    first_dir = make_private_state_dir(load_settings())
    other = make_private_state_dir(load_settings())
    env = docker_env(first_dir, KAIZEN_TEST_REUSE="1")
    try:
        kept = Stack(settings=load_settings(env)).ensure(["redis"])["redis"]
        (first_dir / "stack.json").unlink()
        adopter = Stack(settings=load_settings({**env, "KAIZEN_TEST_STATE_DIR": str(other)}))
        again = adopter.ensure(["redis"])["redis"]
        assert again.container_id == kept.container_id and again.backend == "docker"
        assert adopter.release() == {}, "still kept for reuse"
        assert _running(kept.container_id)
    finally:
        for path in (other, first_dir):
            Stack(settings=load_settings({**env, "KAIZEN_TEST_STATE_DIR": str(path)})).down()
            shutil.rmtree(path, ignore_errors=True)
    assert not _running(kept.container_id)


def test_local_reuse_keeps_servers_and_replaces_on_a_settings_change(private_state_dir) -> None:
    from tests.utils._services.catalog.postgresql import _pg_bin

    if _pg_bin("initdb") is None:
        pytest.fail("PostgreSQL binaries missing: apt-get install postgresql (.ci/run does)")
    env = dict(
        os.environ,
        KAIZEN_TEST_STATE_DIR=str(private_state_dir),
        KAIZEN_TEST_BACKENDS="local",
        KAIZEN_TEST_REUSE="1",
        KAIZEN_TEST_POSTGRES_PORT=str(free_port()),
    )
    try:
        first = Stack(settings=load_settings(env))
        status = first.ensure(["postgresql"])["postgresql"]
        assert first.release() == {} and pid_alive(status.pid), "kept for the next run"
        second = Stack(settings=load_settings(env))
        assert second.ensure(["postgresql"])["postgresql"].pid == status.pid
        second.release()
        changed = Stack(settings=load_settings({**env, "KAIZEN_TEST_POSTGRES_PASSWORD": "pw2"}))
        replaced = changed.ensure(["postgresql"])["postgresql"]
        assert replaced.pid != status.pid and not pid_alive(status.pid)
        changed.release()
    finally:
        Stack(settings=load_settings(env)).down()
    assert Registry(private_state_dir).read()["services"] == {}
