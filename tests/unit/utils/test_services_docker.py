"""The Docker rung without an engine: specs from settings, digests, labels, owner verdicts,
the missing-image error, and the engine probe that needs no SDK import."""

from __future__ import annotations

import subprocess
import sys

import pytest

from tests.utils._services import docker_backend as db
from tests.utils._services.identity import boot_id
from tests.utils._services.settings import REPO_ROOT, SettingsError, load_settings


def _settings(**env: str):
    return load_settings(env)


def test_specs_come_from_the_settings_every_rung_uses() -> None:
    s = _settings(
        KAIZEN_TEST_POSTGRES_PORT="7001",
        KAIZEN_TEST_POSTGRES_PASSWORD="s3cret",
        KAIZEN_TEST_POSTGRES_IMAGE="local/pg:1",
    )
    spec = db.spec_for(s["postgresql"])
    assert (spec.image, spec.host, spec.host_port, spec.container_port) == (
        "local/pg:1",
        "127.0.0.1",
        7001,
        5432,
    )
    assert spec.environment["POSTGRES_PASSWORD"] == "s3cret"
    assert spec.environment["POSTGRES_USER"] == s["postgresql"].user
    mysql = db.spec_for(s["mysql"])
    assert mysql.environment["MARIADB_USER"] == s["mysql"].user
    assert set(mysql.files) == {"/docker-entrypoint-initdb.d/10-kzt-grants.sh"}
    assert all((REPO_ROOT / src).is_file() for src in mysql.files.values())


def test_the_digest_changes_with_any_input_of_the_container() -> None:
    base = db.spec_for(_settings()["redis"]).digest()
    assert db.spec_for(_settings()["redis"]).digest() == base, "stable for the same settings"
    for env in (
        {"KAIZEN_TEST_REDIS_PORT": "7002"},
        {"KAIZEN_TEST_REDIS_IMAGE": "redis:7.4.0"},
    ):
        assert db.spec_for(_settings(**env)["redis"]).digest() != base, env
    pg = db.spec_for(_settings()["postgresql"]).digest()
    assert db.spec_for(_settings(KAIZEN_TEST_POSTGRES_PASSWORD="x")["postgresql"]).digest() != pg


def test_the_rung_publishes_on_loopback_only() -> None:
    with pytest.raises(db.DockerStartError, match=r"publishes on 127\.0\.0\.1 only"):
        db.spec_for(_settings(KAIZEN_TEST_REDIS_HOST="0.0.0.0")["redis"])
    assert db.spec_for(_settings(KAIZEN_TEST_REDIS_HOST="localhost")["redis"]).host == "127.0.0.1"


def test_a_missing_image_names_the_image_and_how_to_get_it() -> None:
    never = db.ImageMissingError("redis", "redis:7.2.5-bookworm", "never")
    text = str(never)
    assert "image redis:7.2.5-bookworm for redis is not on the engine" in text
    assert "KAIZEN_TEST_DOCKER_PULL=never" in text
    assert "engine build redis" in text and "KAIZEN_TEST_REDIS_IMAGE=local/kaizen-redis" in text
    failed = db.ImageMissingError("redis", "redis:9", "missing", "registry unreachable")
    assert "pulling it failed (registry unreachable)" in str(failed)


def test_pull_policy_defaults_to_never_under_ci_and_is_validated() -> None:
    assert load_settings({}).docker_pull == "missing"
    assert load_settings({"CI": "true"}).docker_pull == "never"
    assert load_settings({"CI": "true", "KAIZEN_TEST_DOCKER_PULL": "missing"}).docker_pull == (
        "missing"
    )
    with pytest.raises(SettingsError, match="KAIZEN_TEST_DOCKER_PULL"):
        load_settings({"KAIZEN_TEST_DOCKER_PULL": "always"})


def test_labels_name_service_owner_run_host_and_spec(tmp_path) -> None:
    spec = db.spec_for(_settings()["redis"])
    labels = db.labels_for(
        spec, run_id="pytest-abc", member="123:456:beef", owner_kind="run", state_dir=tmp_path
    )
    assert labels[db.L_SERVICE] == "redis"
    assert labels[db.L_ENDPOINT] == f"127.0.0.1:{spec.host_port}"
    assert (labels[db.L_RUN], labels[db.L_OWNER], labels[db.L_KIND]) == (
        "pytest-abc",
        "123:456:beef",
        "run",
    )
    assert labels[db.L_SPEC] == spec.digest() and labels[db.L_STATE] == str(tmp_path)
    assert labels[db.L_HOST] == db.this_host() and labels[db.L_BOOT] == (boot_id() or "")


def _dead_member() -> str:
    done = subprocess.run(
        [
            sys.executable,
            "-c",
            "from tests.utils._services.registry import new_member; print(new_member())",
        ],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        check=True,
    )
    return done.stdout.strip()  # its process has exited: provably gone


def test_owner_verdicts(tmp_path) -> None:
    from tests.utils._services.registry import Registry, new_member

    spec = db.spec_for(_settings()["redis"])

    def labels(member: str, **extra: str) -> dict[str, str]:
        made = db.labels_for(
            spec, run_id="run-1", member=member, owner_kind="run", state_dir=tmp_path
        )
        return {**made, **extra}

    dead = _dead_member()
    assert db.owner_gone(labels(new_member())) is None, "a live owner"
    assert "every member of run run-1 are gone" in (db.owner_gone(labels(dead)) or "")
    assert db.owner_gone(labels(dead, **{db.L_HOST: "another-machine"})) is None
    assert db.owner_gone(labels(dead, **{db.L_BOOT: "an-earlier-boot"})) == (
        "its owner ran before a reboot"
    )
    registry = Registry(tmp_path)
    with registry.locked():
        registry.join("run-1", new_member())  # a live member of the run keeps it
    assert db.owner_gone(labels(dead)) is None


def test_no_socket_means_no_engine_without_importing_the_sdk(tmp_path) -> None:
    code = (
        "import sys, os\n"
        f"os.environ['DOCKER_HOST'] = 'unix://{tmp_path}/none.sock'\n"
        "from tests.utils._services import docker_backend as db\n"
        "print(db.engine_status())\n"
        "print('docker' in sys.modules)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], cwd=REPO_ROOT, capture_output=True, text=True, check=True
    )
    reason, imported = done.stdout.strip().splitlines()
    assert reason == f"no engine: no socket at {tmp_path}/none.sock"
    assert imported == "False"
