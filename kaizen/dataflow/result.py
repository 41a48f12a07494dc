"""`QueryResult`: the one typed result shape of every SQL statement the nodes run."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True, slots=True)
class QueryResult:
    """Rows as dicts keyed by column name, values as the driver typed them (int, Decimal,
    datetime, bool, dict for JSON, ...). `rowcount` is what the server reported as affected
    or returned; `lastrowid` is set where the backend has one (MySQL auto-increment)."""

    columns: tuple[str, ...]
    rows: tuple[dict[str, Any], ...]
    rowcount: int
    lastrowid: int | None = None

    def __len__(self) -> int:
        return len(self.rows)

    def first(self) -> dict[str, Any] | None:
        return self.rows[0] if self.rows else None

    def scalar(self) -> Any:
        """The first column of the first row (None when there is no row)."""
        row = self.first()
        return None if row is None else row[self.columns[0]]

    def to_dict(self) -> dict[str, Any]:
        return {
            "columns": list(self.columns),
            "rows": [dict(r) for r in self.rows],
            "rowcount": self.rowcount,
            "lastrowid": self.lastrowid,
        }
