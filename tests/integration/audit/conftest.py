from collections.abc import Iterator

import pytest

from kaizen.audit import PostgresAuditStore
from tests.utils.pytest_services import ServiceDatabase


@pytest.fixture
def audit_store(postgres_test_db: ServiceDatabase) -> Iterator[PostgresAuditStore]:
    """A trail store in the test's own database (dropped afterwards with everything in it)."""
    store = PostgresAuditStore(postgres_test_db.url, table="audit_trail")
    yield store
    store.close()
