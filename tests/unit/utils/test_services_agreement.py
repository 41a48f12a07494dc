"""Python, docker-compose.test.yml, the Makefile and the README agree on every endpoint,
and the compose file describes the same containers as the Docker rung's SDK specs.

README format expected (any heading; one row per service, first cell the service name):

| Service | Endpoint | Credentials |
| --- | --- | --- |
| PostgreSQL | `127.0.0.1:5434` | db `kailash_test`, user `test_user` / `test_password` |
| Redis | `127.0.0.1:6380` | none |
| MySQL | `127.0.0.1:3307` | db `kailash_test`, user `kailash_test` / `test_password` |
| MongoDB | `127.0.0.1:27017` | db `kailash_test` |
| Ollama | `http://127.0.0.1:11435` | model `gemma3:270m` |

Every host:port in a row must equal the Python setting of that service, and every word in
backticks must be one of that service's values (db, user, password, model, embed model).
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess

import pytest

from tests.utils._services.settings import (
    COMPOSE_FILE,
    ENV_FILE,
    REPO_ROOT,
    load_settings,
    parse_env_file,
)

_VAR = re.compile(r"\$\{([A-Z0-9_]+)(?::?[-?][^}]*)?\}")
#: what a compose service may say; anything else (a healthcheck, a restart policy) would
#: have no counterpart in the SDK spec, so the two would silently differ
_COMPOSE_KEYS = {"image", "environment", "command", "ports", "volumes"}


def _interpolate(text: str, values: dict[str, str]) -> str:
    def one(match: re.Match[str]) -> str:
        assert match.group(1) in values, f"compose uses {match.group(1)}, not in services.env"
        return values[match.group(1)]

    return _VAR.sub(one, text.replace("$$", "\0")).replace("\0", "$")


def _compose(values: dict[str, str]) -> dict:
    import yaml

    return yaml.safe_load(_interpolate(COMPOSE_FILE.read_text(), values))


def test_compose_file_agrees_with_the_sdk_container_specs() -> None:
    """docker-compose.test.yml (for humans) and the Docker rung's specs (for the toolkit)
    describe the same containers: image, environment, command, ports, files, volumes."""
    from tests.utils._services.docker_backend import SPECS, spec_for
    from tests.utils._services.settings import SERVICE_NAMES

    values = parse_env_file(ENV_FILE)
    settings = load_settings(values)
    compose = _compose(values)
    assert set(compose["services"]) == set(SPECS) == set(SERVICE_NAMES)
    named = {key: (vol or {}).get("name", key) for key, vol in compose.get("volumes", {}).items()}
    for name, block in compose["services"].items():
        spec = spec_for(settings[name])
        assert set(block) <= _COMPOSE_KEYS, (
            f"{name}: compose-only keys {set(block) - _COMPOSE_KEYS}"
        )
        assert block["image"] == spec.image == settings[name].image, name
        env = {k: str(v) for k, v in (block.get("environment") or {}).items()}
        assert env == dict(spec.environment), name
        command = block.get("command")
        assert (tuple(command) if command is not None else None) == spec.command, name
        assert block["ports"] == [f"{spec.host}:{spec.host_port}:{spec.container_port}"], name
        files, volumes = {}, {}
        for mount in block.get("volumes") or []:
            source, target, *mode = mount.split(":")
            if source.startswith("./"):
                assert mode == ["ro"], f"{name}: bind mounts are read-only: {mount}"
                files[target] = source[2:]
            else:
                volumes[named[source]] = target
        assert files == dict(spec.files), name
        assert volumes == dict(spec.volumes), name


def test_compose_takes_endpoints_credentials_and_images_from_services_env() -> None:
    """Change every value in services.env and the compose file follows (nothing hard-coded)."""
    values = parse_env_file(ENV_FILE)
    changed = {
        k: v if k.endswith("_HOST") else str(int(v) + 1) if k.endswith("_PORT") else f"x{v}x"
        for k, v in values.items()
    }
    compose = _compose(changed)["services"]
    settings = load_settings(changed)
    for name, block in compose.items():
        s = settings[name]
        assert block["image"] == s.image
        assert block["ports"][0].split(":")[:2] == ["127.0.0.1", str(s.port)], name
    pg = compose["postgresql"]["environment"]
    assert (pg["POSTGRES_DB"], pg["POSTGRES_USER"], pg["POSTGRES_PASSWORD"]) == (
        settings["postgresql"].database,
        settings["postgresql"].user,
        settings["postgresql"].password,
    )
    my = compose["mysql"]["environment"]
    assert (my["MARIADB_DATABASE"], my["MARIADB_USER"], my["MARIADB_PASSWORD"]) == (
        settings["mysql"].database,
        settings["mysql"].user,
        settings["mysql"].password,
    )


def test_default_images_are_pinned() -> None:
    for name, s in load_settings(parse_env_file(ENV_FILE)).services.items():
        assert s.image and re.fullmatch(r"[\w./-]+:\d+(\.\d+)+(-\w+)?", s.image), (name, s.image)


def _make_values(env: dict[str, str]) -> dict[str, str]:
    probe = "print-kzt:\n\t@env | grep '^KAIZEN_TEST_' | sort\n"
    done = subprocess.run(
        ["make", "-s", "--no-print-directory", "-f", "Makefile", "-f", "-", "print-kzt"],
        input=probe,
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        env=env,
    )
    assert done.returncode == 0, done.stderr
    return dict(line.split("=", 1) for line in done.stdout.splitlines() if "=" in line)


@pytest.mark.skipif(shutil.which("make") is None, reason="make not installed")
def test_makefile_exports_the_same_values_and_lets_the_environment_win() -> None:
    base = {k: v for k, v in os.environ.items() if not k.startswith("KAIZEN_TEST_")}
    assert _make_values(base) == parse_env_file(ENV_FILE)
    overridden = _make_values({**base, "KAIZEN_TEST_REDIS_PORT": "7011"})
    assert overridden["KAIZEN_TEST_REDIS_PORT"] == "7011"
    assert (
        overridden["KAIZEN_TEST_POSTGRES_PORT"]
        == parse_env_file(ENV_FILE)["KAIZEN_TEST_POSTGRES_PORT"]
    )


_README_NAMES = {
    "postgresql": "postgresql",
    "postgres": "postgresql",
    "redis": "redis",
    "mysql": "mysql",
    "mariadb": "mysql",
    "mysql (mariadb)": "mysql",
    "mongodb": "mongodb",
    "ollama": "ollama",
}


def _readme_rows() -> list[tuple[str, str]]:
    readme = REPO_ROOT / "README.md"
    if not readme.exists():
        return []
    rows = []
    for line in readme.read_text(encoding="utf-8").splitlines():
        cells = (
            [c.strip() for c in line.strip().strip("|").split("|")] if line.startswith("|") else []
        )
        if len(cells) >= 2:
            key = re.sub(r"[*`_]", "", cells[0]).strip().lower()
            if key in _README_NAMES and re.search(r"\d+\.\d+\.\d+\.\d+:\d+|localhost:\d+", line):
                rows.append((_README_NAMES[key], line))
    return rows


def test_readme_services_table_matches_the_settings() -> None:
    rows = _readme_rows()
    if not rows:
        pytest.skip("README.md has no services table yet (format: see this module's docstring)")
    settings = load_settings(parse_env_file(ENV_FILE))
    for name, line in rows:
        s = settings[name]
        for host, port in re.findall(r"(\d+\.\d+\.\d+\.\d+|localhost):(\d+)", line):
            assert (host, int(port)) == (s.host, s.port), f"README row for {name}: {line}"
        allowed = {v for v in (s.database, s.user, s.password, s.model, s.embed_model) if v}
        allowed |= {s.endpoint, f"http://{s.endpoint}"}
        for word in re.findall(r"`([^`]+)`", line):
            assert word in allowed, f"README row for {name} mentions {word!r}; settings: {allowed}"


def test_kaizen_default_ollama_url_is_a_stock_install_not_the_test_stack() -> None:
    """The framework defaults to a stock Ollama (11434); the stack must sit elsewhere so a
    test never reaches a developer's own Ollama (the toolkit sets KAIZEN_OLLAMA_URL)."""
    from kaizen.config import DEFAULT_OLLAMA_URL

    ollama = load_settings(parse_env_file(ENV_FILE))["ollama"]
    assert DEFAULT_OLLAMA_URL == "http://127.0.0.1:11434"
    assert f"http://{ollama.host}:{ollama.port}" != DEFAULT_OLLAMA_URL


def test_the_docker_grant_script_grants_the_toolkits_own_name_prefix() -> None:
    """The Docker backend's MariaDB init script cannot import Python: it spells the
    toolkit's schema prefix out, and must spell it as settings.NAME_PREFIX (a LIKE
    pattern, `_` escaped), as the local backend's bootstrap SQL does."""
    from tests.utils._services.catalog.mysql import mysql_bootstrap_sql
    from tests.utils._services.settings import NAME_PREFIX, load_settings

    pattern = NAME_PREFIX.replace("_", "\\_") + "%"
    script = (REPO_ROOT / "tests/utils/compose/mysql-grants.sh").read_text(encoding="utf-8")
    grants = re.findall(r"GRANT ALL PRIVILEGES ON \\`(.+?)\\`", script)
    assert [g.replace("\\\\", "\\") for g in grants] == [pattern]  # shell: \\ is one \
    local = [q for q in mysql_bootstrap_sql(load_settings().services["mysql"]) if pattern in q]
    assert len(local) == 2  # '%' and 'localhost'
