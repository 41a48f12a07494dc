"""The service plugin's isolation fixtures (tests/utils/pytest_services.py) give every test
its own PostgreSQL database, MySQL schema, MongoDB database and a flushed Redis db, all
removed afterwards; this adds the one form kaizen's Redis clients take: a URL."""

from __future__ import annotations

from typing import Any

import pytest


@pytest.fixture
def redis_url(redis_clean: Any) -> str:
    """The worker's Redis db (FLUSHDB before and after the test) as a redis:// URL."""
    kw = redis_clean.connection_pool.connection_kwargs
    return f"redis://{kw['host']}:{kw['port']}/{kw['db']}"
