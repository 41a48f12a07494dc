"""Typed errors of the database nodes, so a caller can tell "fix your SQL" from "the server
went away" from "install the driver" without parsing messages."""

from __future__ import annotations

from kaizen._redact import redact
from kaizen.errors import KaizenError


class DataFlowError(KaizenError):
    """Base of every database-node failure; `database` names the backend. The message is
    redacted here, once, because it may quote a caller's URL or a driver's DSN. `hint` is
    kaizen's own example of a right value, appended as it is: redacting it would turn
    `user:password@` into the unhelpful `user:***@`."""

    def __init__(self, message: str, *, database: str = "", hint: str = "") -> None:
        self.database = database
        text = redact(f"{database}: {message}" if database else message)
        super().__init__(f"{text}; write {hint}" if hint else text)


class MissingDriverError(DataFlowError, ImportError):
    """The optional driver for a backend is not installed; the message names the extra."""

    def __init__(self, database: str, module: str, extra: str) -> None:
        self.module = module
        self.extra = extra
        super().__init__(
            f"driver {module!r} is not installed; pip install 'kaizen[{extra}]'",
            database=database,
        )


class UnsafeQueryError(DataFlowError, ValueError):
    """A call would bypass parameter binding (values spliced into the query text, a string
    where parameters belong, a server-side script operator). Refused before it is sent."""


class InvalidConnectionError(UnsafeQueryError):
    """The connection URL/DSN is malformed (scheme, port, option); `part` names which part.
    Refused before connecting. An `UnsafeQueryError` (and a `ValueError`), so callers that
    caught bad URLs before still do."""

    def __init__(self, message: str, *, database: str, part: str, hint: str = "") -> None:
        self.part = part
        super().__init__(f"connection {part}: {message}", database=database, hint=hint)


class ParameterError(DataFlowError, ValueError):
    """A parameter value cannot be sent as it is (e.g. a NUL byte in PostgreSQL text);
    `statement` (1-based) and `param` name it. Nothing of the transaction was committed."""

    def __init__(
        self, message: str, *, database: str, statement: int, param: str | None = None
    ) -> None:
        self.statement = statement
        self.param = param
        where = f"statement {statement}" + (f", param {param}" if param else "")
        super().__init__(f"{where}: {message}", database=database)


class DatabaseConnectionError(DataFlowError, ConnectionError):
    """The server could not be reached; `endpoint` is host:port (never the password)."""

    def __init__(self, message: str, *, database: str, endpoint: str) -> None:
        self.endpoint = endpoint
        super().__init__(f"{message} (at {endpoint})", database=database)


class ConnectionLostError(DatabaseConnectionError):
    """The connection dropped while a statement ran. The open transaction was not committed:
    the server rolls it back, so nothing of it is half-written."""


class QueryError(DataFlowError):
    """The server rejected the statement (syntax, unknown table or column, bad value).
    `code` is the server's error code (SQLSTATE for PostgreSQL, errno for MySQL)."""

    def __init__(self, message: str, *, database: str, query: str, code: str | None) -> None:
        self.query = query
        self.code = code
        detail = f" [{code}]" if code else ""
        super().__init__(f"{message}{detail}; query: {query}", database=database)


class IntegrityViolationError(QueryError):
    """A constraint (unique, foreign key, not null, check) rejected the write."""
