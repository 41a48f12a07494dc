"""pytest plugin: real services once per run, per-worker isolation, skip-or-fail reasons.

- `--require-services` (or CI=true): an unreachable service FAILS the test instead of skipping.
- `--reuse-services` (or KAIZEN_TEST_REUSE=1): servers outlive the run; the next run
  re-attaches to those whose settings match (a changed setting replaces the server).
- `@pytest.mark.requires_services("postgresql", "redis")`: the test needs these services.
- Session fixtures: `<service>_service` (a ServiceStatus) and ready clients on the worker's
  own database (`postgres_conn`, `redis_client`, `mysql_conn`, `mongodb_db`, `ollama_client`).
- Per-test isolation: `postgres_test_db`, `mysql_test_db`, `redis_clean`, `mongodb_test_db`.

Under pytest-xdist every worker runs this; the state file's lock elects one starter and the
last worker to finish stops what the run started.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, replace
from typing import Any

import pytest

from tests.utils._services import catalog
from tests.utils._services import isolation as iso
from tests.utils._services import settings as st
from tests.utils._services.settings import SERVICE_NAMES, UnknownServiceError
from tests.utils._services.stack import (
    ServiceDiedError,
    ServiceStatus,
    ServiceUnavailableError,
    Stack,
    pop_default_stack,
    push_default_stack,
)

_STACK_KEY = pytest.StashKey[Stack]()
#: each service's ServiceStatus fixture, as its catalog module names it
_FIXTURE_SERVICE = {svc.fixture: svc.name for svc in catalog.services()}


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("kaizen-services", "Kaizen real-service stack")
    group.addoption(
        "--require-services",
        action="store_true",
        default=False,
        help="fail (instead of skip) a test whose services cannot be brought up; implied by "
        "CI=true",
    )
    group.addoption(
        "--reuse-services",
        action="store_true",
        default=False,
        help="keep the servers this run starts for the next run, and re-attach to kept ones "
        "whose settings match (KAIZEN_TEST_REUSE=1); `make services-down` removes them",
    )


def strict_services(config: pytest.Config) -> bool:
    """Fail instead of skip: --require-services or CI=true."""
    ci = os.environ.get("CI", "").strip().lower() in ("1", "true", "yes")
    return ci or bool(config.getoption("--require-services", default=False))


#: fixtures that mean "this test needs the stack" (their dependants show in fixturenames)
_STACK_FIXTURES = frozenset({*_FIXTURE_SERVICE, "services_stack"})


def _stack(config: pytest.Config) -> Stack:
    """The run's Stack, made on first need: a unit-only run never reads service settings,
    so a bad KAIZEN_TEST_* value cannot abort it; a run that needs them gets one usage error."""
    stack = config.stash.get(_STACK_KEY, None)
    if stack is None:
        workerinput = getattr(config, "workerinput", None)
        run = workerinput["testrunuid"] if workerinput else uuid.uuid4().hex
        try:
            settings = st.load_settings()
            if config.getoption("--reuse-services", default=False):
                settings = replace(settings, reuse=True)
            stack = Stack(settings=settings, run_id=f"pytest-{run[:12]}")
        except st.SettingsError as exc:
            raise pytest.UsageError(
                f"service settings: {exc}. Fix {exc.key} in the environment or in "
                f"{st.ENV_FILE} (unit-only runs need no service settings)"
            ) from None
        push_default_stack(stack)
        config.stash[_STACK_KEY] = stack
        stack.install_signal_handlers()
    return stack


@pytest.hookimpl(trylast=True)
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Read the settings once collection shows a test needs services: a bad one is a usage
    error before any test runs, not a failure of each test."""
    if getattr(config, "workerinput", None) is not None:
        return  # an xdist worker cannot end the run with a usage error: see runtest_setup
    if any(_needs_stack(item) for item in items):
        _stack(config)


def _needs_stack(item: pytest.Item) -> bool:
    return bool(_marker_services(item)) or bool(
        _STACK_FIXTURES & set(getattr(item, "fixturenames", ()))
    )


def pytest_unconfigure(config: pytest.Config) -> None:
    stack = config.stash.get(_STACK_KEY, None)
    if stack is not None:
        stack.release()
        pop_default_stack()


def require(config: pytest.Config, names: list[str]) -> dict[str, ServiceStatus]:
    """Ensure `names` are up and still alive; skip (locally) or fail (strict) otherwise."""
    stack = _stack(config)
    try:
        outcomes = stack.ensure_outcomes(names)
    except UnknownServiceError as exc:
        pytest.fail(str(exc), pytrace=False)
    failed = [o for o in outcomes.values() if isinstance(o, ServiceUnavailableError)]
    if failed:
        reason = " | ".join(str(e) for e in failed)
        if strict_services(config):
            pytest.fail(
                f"required service unavailable (CI/--require-services): {reason}", pytrace=False
            )
        pytest.skip(reason)
    statuses: dict[str, ServiceStatus] = {}
    for name in names:
        try:
            statuses[name] = stack.verify(name)
        except ServiceDiedError as exc:
            pytest.fail(str(exc), pytrace=False)
    return statuses


def _marker_services(item: pytest.Item) -> list[str]:
    names: list[str] = []
    for mark in item.iter_markers("requires_services"):
        for name in mark.args:
            if name not in names:
                names.append(name)
    return names


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_setup(item: pytest.Item) -> None:
    if getattr(item.config, "workerinput", None) is not None and _needs_stack(item):
        try:  # under xdist the bad setting fails each test that needs it, with one message
            _stack(item.config)
        except pytest.UsageError as exc:
            pytest.fail(str(exc), pytrace=False)
    names = _marker_services(item)
    used = [svc for fx, svc in _FIXTURE_SERVICE.items() if fx in getattr(item, "fixturenames", ())]
    if names:
        require(item.config, names)
    elif used:
        # a service that died since the session fixture saw it healthy fails loudly here
        stack = _stack(item.config)
        for name in used:
            if name in stack._attached:
                try:
                    stack.verify(name)
                except ServiceDiedError as exc:
                    pytest.fail(str(exc), pytrace=False)


# -- service status fixtures ---------------------------------------------------------------
@pytest.fixture(scope="session")
def services_stack(pytestconfig: pytest.Config) -> Stack:
    """The run's Stack (settings, registry, ensure/verify/health)."""
    return _stack(pytestconfig)


def _status_fixture(service: str) -> Any:
    @pytest.fixture(scope="session")
    def fixture(pytestconfig: pytest.Config) -> ServiceStatus:
        return require(pytestconfig, [service])[service]

    fixture.__doc__ = f"{service}: healthy ServiceStatus (endpoint, backend, version, url)."
    return fixture


# One per service (postgres_service, redis_service, mysql_service, mongodb_service,
# ollama_service, ...): a service added to the catalog gets its fixture here by itself.
for _fixture, _service in _FIXTURE_SERVICE.items():
    globals()[_fixture] = _status_fixture(_service)


@dataclass(frozen=True)
class ServiceDatabase:
    """A toolkit-created database (name starts with the guard prefix) and its URL."""

    name: str
    url: str


# -- PostgreSQL ----------------------------------------------------------------------------
@pytest.fixture(scope="session")
def postgres_worker_db(
    postgres_service: ServiceStatus,
    services_stack: Stack,
) -> Iterator[ServiceDatabase]:
    """This worker's own database, cloned from the template; dropped at session end."""
    s = postgres_service.settings
    assert s is not None
    name = iso.pg_create_database(s, iso.worker_name(services_stack.run_id))
    yield ServiceDatabase(name, st.postgres_url(s, name))
    iso.pg_drop_database(s, name)


@pytest.fixture(scope="session")
def postgres_conn(postgres_worker_db: ServiceDatabase) -> Iterator[Any]:
    """psycopg2 connection (autocommit) to the worker's database."""
    import psycopg2

    conn = psycopg2.connect(postgres_worker_db.url, connect_timeout=5)
    conn.autocommit = True
    yield conn
    conn.close()


@pytest.fixture(scope="session")
def postgres_db_pool(postgres_service: ServiceStatus) -> Iterator[iso.PgDatabasePool]:
    """Template clones prepared ahead of time (see PgDatabasePool); drained at the end."""
    s = postgres_service.settings
    assert s is not None
    pool = iso.PgDatabasePool(s)
    yield pool
    pool.close()


@pytest.fixture
def postgres_test_db(
    postgres_service: ServiceStatus, postgres_db_pool: iso.PgDatabasePool
) -> Iterator[ServiceDatabase]:
    """A fresh database for one test (template clone); dropped afterwards."""
    s = postgres_service.settings
    assert s is not None
    name = postgres_db_pool.acquire()
    yield ServiceDatabase(name, st.postgres_url(s, name))
    postgres_db_pool.release(name)


# -- MySQL ---------------------------------------------------------------------------------
@pytest.fixture(scope="session")
def mysql_worker_db(
    mysql_service: ServiceStatus,
    services_stack: Stack,
) -> Iterator[ServiceDatabase]:
    s = mysql_service.settings
    assert s is not None
    name = iso.mysql_create_database(s, iso.worker_name(services_stack.run_id))
    yield ServiceDatabase(name, st.mysql_url(s, name))
    iso.mysql_drop_database(s, name)


@pytest.fixture(scope="session")
def mysql_conn(mysql_service: ServiceStatus, mysql_worker_db: ServiceDatabase) -> Iterator[Any]:
    """pymysql connection (autocommit) to the worker's schema."""
    import pymysql

    s = mysql_service.settings
    assert s is not None
    conn = pymysql.connect(
        host=s.host,
        port=s.port,
        user=s.user,
        password=s.password or "",
        database=mysql_worker_db.name,
        autocommit=True,
        ssl_disabled=True,
        connect_timeout=5,
    )
    yield conn
    conn.close()


@pytest.fixture
def mysql_test_db(mysql_service: ServiceStatus) -> Iterator[ServiceDatabase]:
    s = mysql_service.settings
    assert s is not None
    name = iso.mysql_create_database(s, iso.test_name())
    yield ServiceDatabase(name, st.mysql_url(s, name))
    iso.mysql_drop_database(s, name)


# -- Redis ---------------------------------------------------------------------------------
@pytest.fixture(scope="session")
def redis_client(redis_service: ServiceStatus, services_stack: Stack) -> Iterator[Any]:
    """redis.Redis on this worker's db index (decode_responses=True); flushed at the end."""
    import redis

    s = redis_service.settings
    assert s is not None
    stack = services_stack
    try:
        index = iso.redis_claim_db(stack.registry, s, stack.member, stack.run_id)
    except iso.RefusedCleanupError as exc:
        pytest.fail(str(exc), pytrace=False)
    client = redis.Redis(
        host=s.host, port=s.port, db=index, decode_responses=True, socket_timeout=10
    )
    try:
        yield client
        iso.redis_flush(client, index, claimed=True)
    finally:
        client.close()
        iso.redis_release_db(stack.registry, s, index, stack.member)


@pytest.fixture
def redis_clean(redis_client: Any) -> Iterator[Any]:
    """The worker's Redis db, FLUSHDB before and after the test."""
    index = redis_client.connection_pool.connection_kwargs["db"]
    iso.redis_flush(redis_client, index, claimed=True)
    yield redis_client
    iso.redis_flush(redis_client, index, claimed=True)


# -- MongoDB -------------------------------------------------------------------------------
@pytest.fixture(scope="session")
def mongodb_client(mongodb_service: ServiceStatus) -> Iterator[Any]:
    import pymongo

    client: Any = pymongo.MongoClient(mongodb_service.url, serverSelectionTimeoutMS=5000)
    yield client
    client.close()


@pytest.fixture(scope="session")
def mongodb_db(mongodb_client: Any, services_stack: Stack) -> Iterator[Any]:
    """This worker's own database; dropped at session end."""
    name = iso.worker_name(services_stack.run_id)
    yield mongodb_client[name]
    iso.mongodb_drop_database(mongodb_client, name)


@pytest.fixture
def mongodb_test_db(mongodb_client: Any) -> Iterator[Any]:
    name = iso.test_name()
    yield mongodb_client[name]
    iso.mongodb_drop_database(mongodb_client, name)


# -- Ollama --------------------------------------------------------------------------------
@pytest.fixture(scope="session")
def ollama_client(ollama_service: ServiceStatus) -> Any:
    """The official `ollama` client on the test server (model: ollama_service.settings.model)."""
    import ollama

    return ollama.Client(host=ollama_service.url, timeout=120)


__all__ = [
    "SERVICE_NAMES",
    "ServiceDatabase",
    "require",
    "strict_services",
]
