"""What both PostgreSQL memory backends share: a table created on first use.

Why one place: the table name is interpolated into SQL, so it is validated; the schema is
created once under an advisory lock, so concurrent first users do not race on CREATE; and a
database failure becomes a MemoryStoreError that says what the backend was doing."""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any, ClassVar

from kaizen.errors import ConfigurationError
from kaizen.memory.errors import MemoryStoreError

_IDENT = re.compile(r"^[a-z_][a-z0-9_]{0,50}$")


class PostgresTableMixin:
    """Call `_open_table(dsn, table)`; define `_label` and `_schema(table)` (CREATE ...)."""

    _label: ClassVar[str]
    table: str

    def _open_table(self, dsn: str, table: str) -> None:
        if not _IDENT.match(table):
            raise ConfigurationError("table", f"must match {_IDENT.pattern}, got {table!r}")
        from kaizen.dataflow.postgres import PostgresDatabase

        self.table = table
        self._db = PostgresDatabase(dsn)
        self._ready = False

    def _schema(self, table: str) -> Sequence[str]:
        raise NotImplementedError

    def _run(self, statements: list[tuple[str, Any]], what: str) -> Any:
        """`statements` in one transaction, after creating the table if this is first use."""
        from kaizen.dataflow.errors import DataFlowError

        try:
            if not self._ready:
                lock = ("SELECT pg_advisory_xact_lock(hashtext(%s))", [self.table])
                self._db.transaction([lock, *((s, None) for s in self._schema(self.table))])
                self._ready = True
            return self._db.transaction(statements)
        except DataFlowError as exc:
            raise MemoryStoreError(f"{self._label} could not {what}: {exc}") from exc

    def drop(self) -> None:
        """Remove the table (tests and decommissioning only)."""
        self._run([(f"DROP TABLE IF EXISTS {self.table}", None)], "drop the table")
        self._ready = False

    def close(self) -> None:
        self._db.close()
