"""Real services for integration and e2e tests: PostgreSQL, Redis, MySQL, MongoDB, Ollama.

Each service comes from the first rung that works: a healthy server already at the
configured endpoint, then a labelled container on the `docker` SDK (only when an engine
answers at DOCKER_HOST), then real servers started as local child processes. Endpoints
live in tests/utils/services.env and can be overridden from the environment.
Implementation: tests/utils/_services/.

    from tests.utils import ensure_docker_services
    await ensure_docker_services()                       # postgresql + redis
    from tests.utils.docker_config import DockerServicesManager
    await DockerServicesManager().wait_for_services_healthy(["postgresql", "redis"])
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterable
from typing import Any

from tests.utils._services import settings as _st
from tests.utils._services.health import HealthReport, wait_healthy
from tests.utils._services.isolation import RefusedCleanupError
from tests.utils._services.settings import (
    DEFAULT_SERVICES,
    NAME_PREFIX,
    SERVICE_NAMES,
    ServiceSettings,
    Settings,
    SettingsError,
    UnknownServiceError,
    load_settings,
)
from tests.utils._services.stack import (
    ImageUnavailableError,
    PortOccupiedError,
    ServiceDiedError,
    ServiceError,
    ServiceStatus,
    ServiceUnavailableError,
    Stack,
    default_stack,
)

__all__ = [
    "DEFAULT_SERVICES",
    "NAME_PREFIX",
    "SERVICE_NAMES",
    "DockerServicesManager",
    "HealthReport",
    "ImageUnavailableError",
    "PortOccupiedError",
    "RefusedCleanupError",
    "ServiceDiedError",
    "ServiceError",
    "ServiceSettings",
    "ServiceStatus",
    "ServiceUnavailableError",
    "Settings",
    "SettingsError",
    "UnknownServiceError",
    "check_services_health",
    "ensure_docker_services",
    "ensure_services",
    "get_mongodb_connection_string",
    "get_mysql_connection_string",
    "get_ollama_base_url",
    "get_ollama_model",
    "get_postgres_connection_string",
    "get_redis_url",
    "get_settings",
]


def get_settings() -> Settings:
    """services.env with environment overrides, read now (so overrides apply at once)."""
    return load_settings()


def get_postgres_connection_string(database: str | None = None) -> str:
    """postgresql://test_user:test_password@127.0.0.1:5434/<database or kailash_test>"""
    return _st.postgres_url(get_settings()["postgresql"], database)


def get_redis_url(db: int = 0) -> str:
    return _st.redis_url(get_settings()["redis"], db)


def get_mysql_connection_string(database: str | None = None) -> str:
    return _st.mysql_url(get_settings()["mysql"], database)


def get_mongodb_connection_string(database: str | None = None) -> str:
    return _st.mongodb_url(get_settings()["mongodb"], database)


def get_ollama_base_url() -> str:
    return _st.ollama_url(get_settings()["ollama"])


def get_ollama_model() -> str:
    return get_settings()["ollama"].model or ""


def ensure_services(services: Iterable[str] | None = None) -> dict[str, ServiceStatus]:
    """Bring services up through the ladder (once per process); raises
    ServiceUnavailableError naming what each rung found."""
    return default_stack().ensure(list(services or DEFAULT_SERVICES))


async def ensure_docker_services(services: Iterable[str] | None = None) -> dict[str, ServiceStatus]:
    """Async twin of ensure_services (default: postgresql and redis)."""
    return await asyncio.to_thread(ensure_services, list(services or DEFAULT_SERVICES))


def check_services_health(services: Iterable[str] | None = None) -> dict[str, HealthReport]:
    """One usability check per service, in parallel; never starts anything."""
    return default_stack().health(list(services or SERVICE_NAMES))


class DockerServicesManager:
    """The stack manager under its historical name (Docker is only one of its backends)."""

    def __init__(self, stack: Stack | None = None) -> None:
        self._stack = stack
        self.last_reports: dict[str, HealthReport] = {}

    @property
    def stack(self) -> Stack:
        return self._stack or default_stack()

    def is_docker_available(self) -> bool:
        from tests.utils._services.docker_backend import engine_status

        return engine_status() is None

    def start_services_sync(
        self, services: Iterable[str] | None = None
    ) -> dict[str, ServiceStatus]:
        return self.stack.ensure(list(services or DEFAULT_SERVICES))

    async def start_services(
        self, services: Iterable[str] | None = None
    ) -> dict[str, ServiceStatus]:
        return await asyncio.to_thread(self.start_services_sync, services)

    def check_service_health_sync(self, service: str) -> HealthReport:
        report = self.stack.health([service])[service]
        self.last_reports[service] = report
        return report

    async def check_service_health(self, service: str) -> HealthReport:
        return await asyncio.to_thread(self.check_service_health_sync, service)

    def wait_for_services_healthy_sync(
        self, services: Iterable[str] | None = None, timeout: float = 60.0
    ) -> bool:
        """Poll until every service is healthy; False (never True) once `timeout` passed.

        Reports are in `last_reports`; it does not start anything.
        """
        names = list(services or DEFAULT_SERVICES)
        settings = self.stack.settings
        deadline = time.monotonic() + timeout
        for name in names:
            remaining = deadline - time.monotonic()
            report = wait_healthy(settings[name], max(remaining, 0.001))
            self.last_reports[name] = report
            if not report.healthy:
                return False
        return time.monotonic() <= deadline

    async def wait_for_services_healthy(
        self, services: Iterable[str] | None = None, timeout: float = 60.0
    ) -> bool:
        return await asyncio.to_thread(self.wait_for_services_healthy_sync, services, timeout)

    def get_status(self, services: Iterable[str] | None = None) -> list[dict[str, Any]]:
        return self.stack.status_rows(list(services) if services else None)

    def stop_services_sync(self) -> dict[str, str]:
        """Stop what this process's run started (servers other runs or `up` own stay)."""
        return self.stack.release()

    async def stop_services(self) -> dict[str, str]:
        return await asyncio.to_thread(self.stop_services_sync)


if __name__ == "__main__":
    from tests.utils._services.cli import main

    raise SystemExit(main())
