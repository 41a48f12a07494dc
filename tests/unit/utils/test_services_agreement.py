"""Python, docker-compose.test.yml, the Makefile and the README agree on every endpoint.

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

CONTAINER_PORTS = {
    "postgresql": 5432,
    "redis": 6379,
    "mysql": 3306,
    "mongodb": 27017,
    "ollama": 11434,
}
_VAR = re.compile(r"\$\{([A-Z0-9_]+)(?::?[-?][^}]*)?\}")


def _interpolate(text: str, values: dict[str, str]) -> str:
    def one(match: re.Match[str]) -> str:
        assert match.group(1) in values, f"compose uses {match.group(1)}, not in services.env"
        return values[match.group(1)]

    return _VAR.sub(one, text.replace("$$", "\0")).replace("\0", "$")


def _compose_services(text: str) -> dict[str, str]:
    """Top-level service blocks of the compose file (2-space indented keys under services)."""
    body = text.split("\nservices:\n", 1)[1].split("\nvolumes:\n", 1)[0]
    blocks: dict[str, str] = {}
    for chunk in re.split(r"\n(?=  [a-z][a-z0-9-]*:\n)", "\n" + body):
        match = re.match(r"\n?  ([a-z][a-z0-9-]*):\n", chunk)
        if match:
            blocks[match.group(1)] = chunk
    return blocks


def test_compose_ports_and_credentials_come_from_services_env() -> None:
    values = parse_env_file(ENV_FILE)
    settings = load_settings(values)
    raw = COMPOSE_FILE.read_text()
    blocks = _compose_services(raw)
    assert set(CONTAINER_PORTS) <= set(blocks), blocks.keys()
    for name, inner in CONTAINER_PORTS.items():
        block = blocks[name]
        ports = re.findall(r'- "([^"]+)"', block.split("ports:", 1)[1])
        assert len(ports) == 1, (name, ports)
        assert "${" in ports[0], f"{name}: host port must come from services.env: {ports[0]}"
        host, port, container = _interpolate(ports[0], values).split(":")
        s = settings[name]
        assert (host, int(port), int(container)) == (s.host, s.port, inner), name
        assert re.search(r"image: \S+:\d+\.\d+", block), f"{name}: image must be pinned"
        assert "healthcheck:" in block, f"{name}: healthcheck missing"
    rendered = _interpolate(raw, values)
    pg = settings["postgresql"]
    for expected in (
        f"POSTGRES_DB: {pg.database}",
        f"POSTGRES_USER: {pg.user}",
        f"POSTGRES_PASSWORD: {pg.password}",
    ):
        assert expected in rendered
    my = settings["mysql"]
    for expected in (
        f"MARIADB_DATABASE: {my.database}",
        f"MARIADB_USER: {my.user}",
        f"MARIADB_PASSWORD: {my.password}",
    ):
        assert expected in rendered
    assert f"KZT_MODEL: {settings['ollama'].model}" in rendered
    assert f"KZT_DB: {settings['mongodb'].database}" in rendered


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
