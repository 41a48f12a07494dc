"""Service settings: one source of truth (services.env), overridable from the environment.

Why a file and not Python constants: docker compose (--env-file) and the Makefile (which
turns each line into `KEY ?= value`, so the environment wins; `include` would not) read the
same file, so the endpoints cannot drift apart between tools.
"""

from __future__ import annotations

import os
import re
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from pathlib import Path
from urllib.parse import quote

from tests.utils.errors import ToolkitError

from .catalog import BUILTIN

ENV_FILE = Path(__file__).resolve().parent.parent / "services.env"
REPO_ROOT = ENV_FILE.parent.parent.parent
COMPOSE_FILE = REPO_ROOT / "docker-compose.test.yml"

SERVICE_NAMES: tuple[str, ...] = BUILTIN  # the catalog's table: one module per service
DEFAULT_SERVICES: tuple[str, ...] = ("postgresql", "redis")
#: Every database, schema, key-space marker or collection the toolkit creates starts with
#: this; cleanup refuses any other name.
NAME_PREFIX = "kzt_"

_LINE = re.compile(r"^([A-Za-z_][A-Za-z0-9_]*)=(.*)$")


class SettingsError(ToolkitError, ValueError):
    """A setting is missing or malformed; the message names the key and the fix."""

    def __init__(self, key: str, message: str) -> None:
        super().__init__(f"{key}: {message}")
        self.key = key


class UnknownServiceError(ToolkitError, KeyError):
    """A service name outside SERVICE_NAMES was requested."""

    def __init__(self, name: str) -> None:
        super().__init__(f"unknown service {name!r}; known services: {', '.join(SERVICE_NAMES)}")
        self.name = name

    def __str__(self) -> str:
        return str(self.args[0])


def parse_env_file(path: Path = ENV_FILE) -> dict[str, str]:
    """KEY=VALUE lines; '#' comments and blank lines ignored; no quoting, no spaces."""
    values: dict[str, str] = {}
    for number, raw in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        match = _LINE.match(line)
        if match is None:
            raise SettingsError(f"{path.name}:{number}", f"expected KEY=VALUE, got {raw!r}")
        values[match.group(1)] = match.group(2)
    return values


#: What a password looks like in any repr, error or log line the toolkit writes.
REDACTED = "***"
_URL_PASSWORD = re.compile(r"(?P<head>[a-z][a-z0-9+.-]*://[^:/@\s]*:)(?P<password>[^@\s]*)@", re.I)


def redact(text: str, *secrets: str | None) -> str:
    """`text` with every given secret, and the password of any URL in it, replaced.

    Why both: a driver's error may quote a DSN (URL form) or echo a statement that holds the
    password (bare form); the quote()d spelling of a secret is what URLs carry.
    """
    for secret in secrets:
        if secret:
            for form in {secret, quote(secret, safe="")}:
                text = text.replace(form, REDACTED)
    return _URL_PASSWORD.sub(lambda m: f"{m.group('head')}{REDACTED}@", text)


class SecretURL(str):
    """A connection URL whose repr hides the password: the value (str, f-strings, drivers)
    is the real URL, but a pytest traceback or assertion diff shows only the redacted one."""

    __slots__ = ()

    def __repr__(self) -> str:
        return repr(redact(str(self)))


@dataclass(frozen=True)
class ServiceSettings:
    """Endpoint and credentials of one service after environment overrides.

    The repr redacts the password (tracebacks print settings); the attribute is the real one.
    """

    name: str
    host: str
    port: int
    database: str | None = None
    user: str | None = None
    password: str | None = None
    model: str | None = None
    embed_model: str | None = None
    #: the Docker rung's image (KAIZEN_TEST_<SERVICE>_IMAGE)
    image: str | None = None

    @property
    def endpoint(self) -> str:
        return f"{self.host}:{self.port}"

    def __repr__(self) -> str:
        parts = []
        for f in fields(self):
            value = getattr(self, f.name)
            if f.name == "password" and value:
                value = REDACTED
            parts.append(f"{f.name}={value!r}")
        return f"ServiceSettings({', '.join(parts)})"


@dataclass(frozen=True)
class Settings:
    """All services plus the stack-wide knobs."""

    services: Mapping[str, ServiceSettings]
    state_dir: Path
    backends: tuple[str, ...]
    start_timeout_s: float
    ollama_start_timeout_s: float
    #: every KAIZEN_TEST_* value, passwords included: kept out of the repr
    raw: Mapping[str, str] = field(repr=False)
    #: may the Docker rung pull a missing image? "missing" or "never" (the default under CI)
    docker_pull: str = "missing"
    #: keep healthy servers between runs and re-attach to them (KAIZEN_TEST_REUSE=1)
    reuse: bool = False

    def __getitem__(self, name: str) -> ServiceSettings:
        try:
            return self.services[name]
        except KeyError:
            raise UnknownServiceError(name) from None


BACKENDS = ("running", "docker", "local")
PULL_POLICIES = ("missing", "never")
_TRUE = ("1", "true", "yes", "on")
_FALSE = ("", "0", "false", "no", "off")


def is_ci(environ: Mapping[str, str]) -> bool:
    return environ.get("CI", "").strip().lower() in _TRUE


def _flag(values: Mapping[str, str], key: str) -> bool:
    text = values.get(key, "").strip().lower()
    if text in _TRUE:
        return True
    if text in _FALSE:
        return False
    raise SettingsError(key, f"must be 1 or 0 (true/false), got {text!r}")


def _port(values: Mapping[str, str], key: str) -> int:
    text = values.get(key)
    if text is None:
        raise SettingsError(key, f"missing; add it to {ENV_FILE} or the environment")
    try:
        port = int(text)
    except ValueError:
        raise SettingsError(key, f"must be a TCP port number, got {text!r}") from None
    if not 0 < port < 65536:
        raise SettingsError(key, f"must be within 1..65535, got {port}")
    return port


def _float(values: Mapping[str, str], key: str, default: float) -> float:
    text = values.get(key)
    if text is None or text == "":
        return default
    try:
        value = float(text)
    except ValueError:
        raise SettingsError(key, f"must be a number of seconds, got {text!r}") from None
    if value <= 0:
        raise SettingsError(key, f"must be positive, got {value}")
    return value


def load_settings(environ: Mapping[str, str] | None = None, env_file: Path = ENV_FILE) -> Settings:
    """File defaults, then the environment (same key names) on top."""
    environ = os.environ if environ is None else environ
    values = parse_env_file(env_file)
    for key in list(values):
        if key in environ:
            values[key] = environ[key]
    for key, value in environ.items():
        if key.startswith("KAIZEN_TEST_") and key not in values:
            values[key] = value

    def need(key: str) -> str:
        value = values.get(key)
        if not value:
            raise SettingsError(key, f"missing or empty; set it in {ENV_FILE} or the environment")
        return value

    services: dict[str, ServiceSettings] = {}
    from . import catalog

    for name, prefix in ((svc.name, svc.env_prefix) for svc in catalog.services()):
        host = need(prefix + "HOST")
        services[name] = ServiceSettings(
            name=name,
            host=host,
            port=_port(values, prefix + "PORT"),
            database=values.get(prefix + "DB"),
            user=values.get(prefix + "USER"),
            password=values.get(prefix + "PASSWORD"),
            model=values.get(prefix + "MODEL"),
            embed_model=values.get(prefix + "EMBED_MODEL"),
            image=values.get(prefix + "IMAGE") or None,
        )
    backends = tuple(
        b.strip() for b in values.get("KAIZEN_TEST_BACKENDS", ",".join(BACKENDS)).split(",")
    )
    for backend in backends:
        if backend not in BACKENDS:
            raise SettingsError(
                "KAIZEN_TEST_BACKENDS", f"unknown backend {backend!r}; use any of {BACKENDS}"
            )
    pull = values.get("KAIZEN_TEST_DOCKER_PULL", "").strip() or (
        "never" if is_ci(environ) else "missing"
    )
    if pull not in PULL_POLICIES:
        raise SettingsError(
            "KAIZEN_TEST_DOCKER_PULL", f"unknown policy {pull!r}; use one of {PULL_POLICIES}"
        )
    state_dir_text = values.get("KAIZEN_TEST_STATE_DIR") or str(
        Path(tempfile.gettempdir()) / f"kaizen-test-services-{os.getuid()}"
    )
    return Settings(
        services=services,
        state_dir=Path(state_dir_text),
        backends=backends,
        start_timeout_s=_float(values, "KAIZEN_TEST_START_TIMEOUT", 30.0),
        ollama_start_timeout_s=_float(values, "KAIZEN_TEST_OLLAMA_START_TIMEOUT", 180.0),
        docker_pull=pull,
        reuse=_flag(values, "KAIZEN_TEST_REUSE"),
        raw=values,
    )


def settings_hash(s: ServiceSettings) -> str:
    """A digest of the settings a server is started with: a recorded server whose digest
    differs is replaced, never re-attached (see Stack). The image is the Docker rung's
    business: its container spec (which names the image) has a digest of its own."""
    import hashlib
    import json

    data = {f.name: getattr(s, f.name) for f in fields(s) if f.name != "image"}
    return hashlib.sha256(json.dumps(data, sort_keys=True).encode()).hexdigest()[:16]


# URL builders: each service's own lives in its catalog module (`Service.url`); these are
# the names everyone has always imported.
def postgres_url(
    s: ServiceSettings,
    database: str | None = None,
    user: str | None = None,
    password: str | None = None,
) -> str:
    from .catalog import postgresql

    return postgresql.url(s, database, user, password)


def mysql_url(s: ServiceSettings, database: str | None = None) -> str:
    from .catalog import mysql

    return mysql.url(s, database)


def mongodb_url(s: ServiceSettings, database: str | None = None) -> str:
    from .catalog import mongodb

    return mongodb.url(s, database)


def redis_url(s: ServiceSettings, db: int = 0) -> str:
    from .catalog import redis

    return redis.url(s, db)


def ollama_url(s: ServiceSettings) -> str:
    from .catalog import ollama

    return ollama.url(s)
