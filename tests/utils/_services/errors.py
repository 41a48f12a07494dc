"""The stack's typed errors: each names the service, and what every rung found.

Why a module of their own: the stack and each rung raise or return them, and tests catch
them by type (`PortOccupiedError`, `ImageUnavailableError`, ...); facade:
tests.utils.docker_config.
"""

from __future__ import annotations

from tests.utils.errors import ToolkitError


class ServiceError(ToolkitError, RuntimeError):
    """Base of the stack's errors; `service` names the service concerned."""

    def __init__(self, service: str, message: str) -> None:
        super().__init__(message)
        self.service = service


class ServiceUnavailableError(ServiceError):
    """No rung of the ladder produced a healthy service; `rungs` says what each found."""

    def __init__(self, service: str, endpoint: str, rungs: dict[str, str]) -> None:
        detail = "; ".join(f"{rung}: {why}" for rung, why in rungs.items())
        super().__init__(service, f"{service} unavailable at {endpoint}: {detail}")
        self.endpoint = endpoint
        self.rungs = dict(rungs)


class PortOccupiedError(ServiceUnavailableError):
    """The configured port is held by something that is not a usable instance of the service."""


class ImageUnavailableError(ServiceUnavailableError):
    """The Docker rung's image is missing and may not be pulled, and no later rung worked;
    `image` names it, the message says how to get it."""

    def __init__(self, service: str, endpoint: str, rungs: dict[str, str], image: str) -> None:
        super().__init__(service, endpoint, rungs)
        self.image = image


class ServiceDiedError(ServiceError):
    """A service that was healthy earlier in this run is gone."""
