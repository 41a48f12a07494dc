"""MySQL / MariaDB through PyMySQL (imported on first use: `pip install 'kaizen[mysql]'`)."""

from __future__ import annotations

from typing import Any
from urllib.parse import unquote, urlsplit

from kaizen._redact import safe_cause
from kaizen.dataflow._sql import SQLDatabase, SQLQueryNode
from kaizen.dataflow.errors import (
    ConnectionLostError,
    DatabaseConnectionError,
    IntegrityViolationError,
    InvalidConnectionError,
    MissingDriverError,
    QueryError,
)
from kaizen.dataflow.result import QueryResult
from kaizen.workflow.node import register_node

# Client-side error numbers (2000-2999) mean the connection, not the statement, failed.
_CLIENT_ERRORS = range(2000, 3000)


def _pymysql() -> Any:
    try:
        import pymysql
    except ImportError:
        raise MissingDriverError("mysql", "pymysql", "mysql") from None
    return pymysql


def _connect_kwargs(dsn: str) -> dict[str, Any]:
    parts = urlsplit(dsn)
    if parts.scheme not in ("mysql", "mysql+pymysql") or not parts.hostname:
        raise InvalidConnectionError(
            f"got scheme {parts.scheme!r}",
            database="mysql",
            part="scheme",
            hint="mysql://user:password@host:port/database",
        )
    try:
        port = parts.port
    except ValueError:
        raise InvalidConnectionError(
            f"{parts.netloc.rpartition(':')[2]!r} is not a port number (0-65535)",
            database="mysql",
            part="port",
            hint="mysql://user:password@host:3306/database",
        ) from None
    return {
        "host": parts.hostname,
        "port": port or 3306,
        "user": unquote(parts.username or ""),
        "password": unquote(parts.password or ""),
        "database": parts.path.lstrip("/") or None,
    }


class MySQLDatabase(SQLDatabase):
    """Parameterised statements (`%s` / `%(name)s` placeholders) against MySQL or MariaDB."""

    name = "mysql"

    @classmethod
    def check_dsn(cls, dsn: str) -> None:
        _connect_kwargs(dsn)

    def _connect(self) -> Any:
        pymysql = _pymysql()
        timeout = max(1, int(self.connect_timeout))
        try:
            # PyMySQL's connect_timeout bounds only the TCP connect: the server's greeting
            # and the login are read with read_timeout, so a server that accepts and then
            # says nothing would hang the caller forever. Both are bounded here, as libpq's
            # connect_timeout bounds the whole start-up.
            conn = pymysql.connect(
                **_connect_kwargs(self.dsn),
                connect_timeout=timeout,
                read_timeout=timeout,
                write_timeout=timeout,
                autocommit=False,
                charset="utf8mb4",
            )
        except pymysql.err.Error as exc:
            raise DatabaseConnectionError(
                f"cannot connect: {exc.args[-1] if exc.args else exc}",
                database=self.name,
                endpoint=self.endpoint,
            ) from safe_cause(exc)
        # Statements are not bounded (as on PostgreSQL): a long query is not a dead server.
        # PyMySQL has no public setter; it applies these before every read and write.
        conn._read_timeout = conn._write_timeout = None
        return conn

    def _driver_errors(self) -> tuple[type[BaseException], ...]:
        return (_pymysql().err.Error,)

    def _is_broken(self, conn: Any, exc: BaseException) -> bool:
        pymysql = _pymysql()
        code = exc.args[0] if exc.args and isinstance(exc.args[0], int) else None
        return (
            isinstance(exc, pymysql.err.InterfaceError)
            or (code is not None and code in _CLIENT_ERRORS)
            or not conn.open
        )

    def _translate(self, exc: BaseException, query: str, broken: bool) -> Exception:
        pymysql = _pymysql()
        message = str(exc.args[-1]) if exc.args else type(exc).__name__
        if broken:
            return ConnectionLostError(
                f"connection lost during the statement ({message}); the transaction was not "
                "committed",
                database=self.name,
                endpoint=self.endpoint,
            )
        code = str(exc.args[0]) if exc.args else None
        cls = IntegrityViolationError if isinstance(exc, pymysql.err.IntegrityError) else QueryError
        return cls(message, database=self.name, query=query, code=code)

    def _result(self, cursor: Any) -> QueryResult:
        lastrowid = cursor.lastrowid or None
        if cursor.description is None:
            return QueryResult((), (), max(cursor.rowcount, 0), lastrowid)
        columns = tuple(d[0] for d in cursor.description)
        rows = tuple(dict(zip(columns, row, strict=True)) for row in cursor.fetchall())
        return QueryResult(columns, rows, len(rows), lastrowid)


@register_node
class MySQLQueryNode(SQLQueryNode):
    """Runs parameterised SQL on MySQL/MariaDB. Config: `connection`
    (mysql://user:password@host:port/db), `query` or `statements`; input `params`."""

    database_cls = MySQLDatabase
    __slots__ = ()
