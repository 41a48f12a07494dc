from collections.abc import Iterator
from typing import Any

import pytest

from tests.integration.dataflow import real_endpoints
from tests.integration.dataflow.real_endpoints import pg_dsn  # noqa: F401  (fixture)


@pytest.fixture
def audit_store(request: pytest.FixtureRequest) -> Iterator[Any]:
    from kaizen.audit import PostgresAuditStore

    store = PostgresAuditStore(
        request.getfixturevalue("pg_dsn"), table=real_endpoints.unique_name("au")
    )
    yield store
    store.drop()
