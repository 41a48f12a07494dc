"""PostgreSQL through psycopg2 (imported on first use: `pip install 'kaizen[postgres]'`)."""

from __future__ import annotations

from typing import Any

from kaizen._redact import safe_cause
from kaizen.dataflow._sql import SQLDatabase, SQLQueryNode
from kaizen.dataflow.errors import (
    ConnectionLostError,
    DatabaseConnectionError,
    IntegrityViolationError,
    InvalidConnectionError,
    MissingDriverError,
    ParameterError,
    QueryError,
)
from kaizen.dataflow.result import QueryResult
from kaizen.workflow.node import register_node


def _psycopg2() -> Any:
    try:
        import psycopg2
    except ImportError:
        raise MissingDriverError("postgresql", "psycopg2", "postgres") from None
    return psycopg2


def _first_line(exc: BaseException) -> str:
    text = str(getattr(exc, "pgerror", None) or exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


def _nul_in(value: Any, where: str) -> str | None:
    """The path of the first text value holding a NUL byte (PostgreSQL text cannot)."""
    if isinstance(value, str):
        return where if "\x00" in value else None
    items: Any = ()
    if isinstance(value, dict):
        items = ((f"{where}[{k!r}]", v) for k, v in value.items())
    elif isinstance(value, list | tuple):
        items = ((f"{where}[{i}]", v) for i, v in enumerate(value))
    for path, inner in items:
        found = _nul_in(inner, path)
        if found:
            return found
    return None


def connect_postgres(dsn: str, *, connect_timeout: float = 10.0, endpoint: str = "") -> Any:
    """A psycopg2 connection, or `DatabaseConnectionError` naming the endpoint and cause."""
    from kaizen.dataflow._sql import endpoint_of

    psycopg2 = _psycopg2()
    try:
        conn = psycopg2.connect(dsn, connect_timeout=max(1, int(connect_timeout)))
    except psycopg2.ProgrammingError as exc:  # libpq could not parse the DSN at all
        raise InvalidConnectionError(
            _first_line(exc),
            database="postgresql",
            part="dsn",
            hint="postgresql://user:password@host:5432/db or 'host=... port=... dbname=...'",
        ) from safe_cause(exc)
    except psycopg2.OperationalError as exc:
        raise DatabaseConnectionError(
            f"cannot connect: {_first_line(exc)}",
            database="postgresql",
            endpoint=endpoint or endpoint_of(dsn),
        ) from safe_cause(exc)
    return conn


class PostgresDatabase(SQLDatabase):
    """Parameterised statements (`%s` / `%(name)s` placeholders) against PostgreSQL."""

    name = "postgresql"

    def _connect(self) -> Any:
        return connect_postgres(
            self.dsn, connect_timeout=self.connect_timeout, endpoint=self.endpoint
        )

    def _check_values(self, statement: int, params: Any) -> None:
        named = params.items() if isinstance(params, dict) else enumerate(params or ())
        for key, value in named:
            found = _nul_in(value, repr(key) if isinstance(key, str) else str(key))
            if found:
                raise ParameterError(
                    "text holds a NUL byte (0x00), which PostgreSQL cannot store in text; "
                    "strip it (value.replace('\\x00', '')) or pass bytes for a bytea column",
                    database=self.name,
                    statement=statement,
                    param=found,
                )

    def _driver_errors(self) -> tuple[type[BaseException], ...]:
        return (_psycopg2().Error,)

    def _is_broken(self, conn: Any, exc: BaseException) -> bool:
        psycopg2 = _psycopg2()
        return bool(conn.closed) or isinstance(exc, psycopg2.InterfaceError)

    def _translate(self, exc: BaseException, query: str, broken: bool) -> Exception:
        psycopg2 = _psycopg2()
        if broken:
            return ConnectionLostError(
                f"connection lost during the statement ({_first_line(exc)}); the transaction "
                "was not committed",
                database=self.name,
                endpoint=self.endpoint,
            )
        code = getattr(exc, "pgcode", None)
        cls = IntegrityViolationError if isinstance(exc, psycopg2.IntegrityError) else QueryError
        return cls(_first_line(exc), database=self.name, query=query, code=code)

    def _result(self, cursor: Any) -> QueryResult:
        if cursor.description is None:
            return QueryResult((), (), max(cursor.rowcount, 0))
        columns = tuple(d.name for d in cursor.description)
        rows = tuple(dict(zip(columns, row, strict=True)) for row in cursor.fetchall())
        return QueryResult(columns, rows, max(cursor.rowcount, len(rows)))


@register_node
class PostgresQueryNode(SQLQueryNode):
    """Runs parameterised SQL on PostgreSQL. Config: `connection` (DSN), `query` or
    `statements`; input `params`."""

    database_cls = PostgresDatabase
    __slots__ = ()
