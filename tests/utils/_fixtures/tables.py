"""Database fixtures with per-test isolation: table definitions with seed rows, rendered
for PostgreSQL, MySQL and SQLite; MongoDB documents and Redis keys; fresh names under the
toolkit's `NAME_PREFIX`, which the service stack's cleanup recognises as ours."""

from __future__ import annotations

import uuid
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, replace
from types import MappingProxyType
from typing import Any, Protocol, TypeVar

from tests.utils._services.settings import NAME_PREFIX

__test__ = False  # nothing in this module is a test

_COLUMN_TYPES = {
    "postgresql": {
        "int": "INTEGER",
        "text": "TEXT",
        "float": "DOUBLE PRECISION",
        "bool": "BOOLEAN",
        "timestamp": "TIMESTAMPTZ",
    },
    "mysql": {
        "int": "INT",
        "text": "VARCHAR(255)",
        "float": "DOUBLE",
        "bool": "BOOLEAN",
        "timestamp": "DATETIME",
    },
    "sqlite": {
        "int": "INTEGER",
        "text": "TEXT",
        "float": "REAL",
        "bool": "INTEGER",
        "timestamp": "TEXT",
    },
}
_PLACEHOLDER = {"postgresql": "%s", "mysql": "%s", "sqlite": "?"}

V = TypeVar("V")


class SupportsExecute(Protocol):
    def execute(self, query: str, params: Any = ...) -> Any: ...


@dataclass(frozen=True)
class TableFixture:
    """A table definition with seed rows, renderable for PostgreSQL, MySQL and SQLite.

    `isolated()` gives a copy under a fresh `NAME_PREFIX` name, so parallel tests (and xdist
    workers) never share a table; `seeded_table()` creates, fills and drops it.
    """

    name: str
    columns: tuple[tuple[str, str], ...]
    rows: tuple[tuple[Any, ...], ...] = ()
    primary_key: str | None = None

    def __post_init__(self) -> None:
        for column, kind in self.columns:
            if kind not in _COLUMN_TYPES["sqlite"]:
                raise ValueError(
                    f"table {self.name}: column {column!r} has unknown type {kind!r} "
                    f"(known: {', '.join(_COLUMN_TYPES['sqlite'])})"
                )
        for row in self.rows:
            if len(row) != len(self.columns):
                raise ValueError(
                    f"table {self.name}: row {row!r} has {len(row)} values, "
                    f"expected {len(self.columns)}"
                )

    def isolated(self) -> TableFixture:
        return replace(self, name=f"{NAME_PREFIX}{self.name}_{uuid.uuid4().hex[:10]}")

    @property
    def column_names(self) -> tuple[str, ...]:
        return tuple(c for c, _ in self.columns)

    def create_sql(self, dialect: str) -> str:
        types = _dialect(dialect, _COLUMN_TYPES)
        cols = [
            f"{c} {types[k]}{' PRIMARY KEY' if c == self.primary_key else ''}"
            for c, k in self.columns
        ]
        return f"CREATE TABLE {self.name} ({', '.join(cols)})"

    def insert_sql(self, dialect: str) -> str:
        mark = _dialect(dialect, _PLACEHOLDER)
        marks = ", ".join([mark] * len(self.columns))
        return f"INSERT INTO {self.name} ({', '.join(self.column_names)}) VALUES ({marks})"

    def drop_sql(self, dialect: str) -> str:
        _dialect(dialect, _PLACEHOLDER)
        return f"DROP TABLE IF EXISTS {self.name}"

    def as_dicts(self) -> list[dict[str, Any]]:
        return [dict(zip(self.column_names, row, strict=True)) for row in self.rows]


def _dialect(dialect: str, table: Mapping[str, V]) -> V:
    try:
        return table[dialect]
    except KeyError:
        raise ValueError(
            f"unknown SQL dialect {dialect!r}; use one of {', '.join(table)}"
        ) from None


@contextmanager
def seeded_table(db: SupportsExecute, fixture: TableFixture, dialect: str) -> Iterator[str]:
    """Create an isolated copy of `fixture`, insert its rows, yield its name, drop it."""
    table = fixture.isolated()
    if not table.name.startswith(NAME_PREFIX):  # pragma: no cover - isolated() guarantees it
        raise AssertionError(f"refusing to manage non-test table {table.name}")
    db.execute(table.create_sql(dialect))
    try:
        for row in table.rows:
            db.execute(table.insert_sql(dialect), list(row))
        yield table.name
    finally:
        db.execute(table.drop_sql(dialect))


USERS_TABLE = TableFixture(
    "users",
    (("id", "int"), ("name", "text"), ("email", "text"), ("active", "bool")),
    (
        (1, "Ada Lovelace", "ada@example.com", True),
        (2, "Alan Turing", "alan@example.com", True),
        (3, "Grace Hopper", "grace@example.com", False),
    ),
    primary_key="id",
)
TICKETS_TABLE = TableFixture(
    "tickets",
    (("id", "int"), ("body", "text"), ("priority", "int")),
    (
        (1, "I was charged twice this month.", 2),
        (2, "The app crashes when I upload a photo.", 1),
        (3, "How do I export my data?", 3),
        (4, "x'); DROP TABLE tickets; --", 3),  # stays inert through parameterised queries
    ),
    primary_key="id",
)
ORDERS_TABLE = TableFixture(
    "orders",
    (("id", "int"), ("user_id", "int"), ("amount", "float"), ("status", "text")),
    ((1, 1, 19.99, "paid"), (2, 1, 5.0, "refunded"), (3, 2, 120.5, "paid")),
    primary_key="id",
)
TABLES = MappingProxyType({"users": USERS_TABLE, "tickets": TICKETS_TABLE, "orders": ORDERS_TABLE})

MONGO_DOCUMENTS: Sequence[Mapping[str, Any]] = (
    {"_id": "doc-1", "kind": "result", "agent": "worker_1", "score": 0.9, "tags": ["a", "b"]},
    {"_id": "doc-2", "kind": "result", "agent": "worker_2", "score": 0.4, "tags": ["b"]},
    {"_id": "doc-3", "kind": "note", "agent": "supervisor", "score": 0.0, "tags": []},
)
REDIS_KEYS: Mapping[str, str] = MappingProxyType(
    {"session:alpha": "active", "session:beta": "idle", "counter:runs": "0"}
)


def isolated_collection(base: str = "results") -> str:
    """A fresh MongoDB collection name under `NAME_PREFIX` (the stack's cleanup drops those)."""
    return f"{NAME_PREFIX}{base}_{uuid.uuid4().hex[:10]}"


def isolated_redis_prefix(base: str = "test") -> str:
    """A fresh key prefix, so tests sharing a Redis database index never see each other."""
    return f"{NAME_PREFIX.rstrip('_')}:{base}:{uuid.uuid4().hex[:10]}:"
