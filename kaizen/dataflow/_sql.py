"""What the PostgreSQL and MySQL backends share: parameter checks, one connection with a
lock, all-or-nothing transactions, and the workflow node shape.

Values reach the server only through the driver's parameter binding: a node's query text is
fixed when the workflow is built and its values arrive as the `params` input, so there is
no code path that splices a value into SQL.
"""

from __future__ import annotations

import contextlib
import threading
from abc import ABC, abstractmethod
from collections.abc import Mapping, Sequence
from typing import Any, ClassVar
from urllib.parse import urlsplit

from kaizen._redact import safe_cause
from kaizen.dataflow.errors import ParameterError, UnsafeQueryError
from kaizen.dataflow.result import QueryResult
from kaizen.errors import WorkflowValidationError
from kaizen.workflow.node import Node

Params = Sequence[Any] | Mapping[str, Any] | None
Statement = tuple[str, Params]


def endpoint_of(dsn: str) -> str:
    """host:port of a URL-style DSN, for error messages that must not leak the password."""
    try:
        parts = urlsplit(dsn)
        if parts.hostname:
            return f"{parts.hostname}:{parts.port}" if parts.port else parts.hostname
    except ValueError:
        pass
    return "<dsn>"


def check_query(query: Any, database: str) -> str:
    if not isinstance(query, str) or not query.strip():
        raise UnsafeQueryError(
            f"query must be a non-empty SQL string, got {query!r}", database=database
        )
    return query


def check_params(params: Any, database: str) -> tuple[Any, ...] | dict[str, Any] | None:
    """Sequences and mappings only: a string here is the classic mistake of formatting
    values into the query (or would be split into characters), so it is refused."""
    if params is None:
        return None
    if isinstance(params, str | bytes | bytearray):
        raise UnsafeQueryError(
            f"params must be a sequence or mapping of values, got {type(params).__name__} "
            f"{params!r}; pass values as params=[value] and use placeholders in the query",
            database=database,
        )
    if isinstance(params, Mapping):
        return dict(params)
    if isinstance(params, Sequence):
        return tuple(params)
    raise UnsafeQueryError(
        f"params must be a sequence or mapping, got {type(params).__name__}", database=database
    )


class SQLDatabase(ABC):
    """One connection (opened lazily, reopened on the next call after a loss) used under a
    lock. Every call is its own transaction: committed on success, rolled back on error.
    A failed call is never retried silently."""

    name: ClassVar[str]

    def __init__(self, dsn: str, *, connect_timeout: float = 10.0, persistent: bool = True):
        if not isinstance(dsn, str) or not dsn.strip():
            raise UnsafeQueryError(f"connection must be a non-empty DSN string, got {dsn!r}")
        self.check_dsn(dsn)
        self.dsn = dsn
        self.endpoint = endpoint_of(dsn)
        self.connect_timeout = connect_timeout
        self.persistent = persistent
        self._conn: Any = None
        self._lock = threading.Lock()

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.endpoint})"

    def __enter__(self) -> SQLDatabase:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- backend hooks --------------------------------------------------------------------

    @classmethod  # noqa: B027  (an optional hook: no check by default)
    def check_dsn(cls, dsn: str) -> None:
        """Raise `InvalidConnectionError` for a DSN that cannot work (before connecting)."""

    def _check_values(self, statement: int, params: Any) -> None:  # noqa: B027  (optional)
        """Raise `ParameterError` for a value the server cannot take, before any is sent."""

    @abstractmethod
    def _connect(self) -> Any: ...

    @abstractmethod
    def _driver_errors(self) -> tuple[type[BaseException], ...]: ...

    @abstractmethod
    def _is_broken(self, conn: Any, exc: BaseException) -> bool: ...

    @abstractmethod
    def _translate(self, exc: BaseException, query: str, broken: bool) -> Exception: ...

    @abstractmethod
    def _result(self, cursor: Any) -> QueryResult: ...

    # -- public ---------------------------------------------------------------------------

    def execute(self, query: str, params: Params = None) -> QueryResult:
        """Run one parameterised statement in its own transaction."""
        return self.transaction([(query, params)])[0]

    def transaction(self, statements: Sequence[Statement]) -> list[QueryResult]:
        """Run statements in one transaction: all are committed, or none is."""
        checked = [(check_query(q, self.name), check_params(p, self.name)) for q, p in statements]
        if not checked:
            raise UnsafeQueryError("transaction needs at least one statement", database=self.name)
        for number, (_, params) in enumerate(checked, 1):
            self._check_values(number, params)
        with self._lock:
            conn = self._connection()
            current, number = checked[0][0], 1
            try:
                results = []
                cursor = conn.cursor()
                try:
                    for index, (current, params) in enumerate(checked):
                        number = index + 1  # named in a ParameterError below
                        cursor.execute(current, params)
                        results.append(self._result(cursor))
                finally:
                    cursor.close()
                current = "COMMIT"
                conn.commit()
                return results
            except self._driver_errors() as exc:
                broken = self._is_broken(conn, exc)
                if not broken:
                    try:
                        conn.rollback()
                    except self._driver_errors():
                        broken = True
                if broken:
                    self._discard()
                raise self._translate(exc, current, broken) from safe_cause(exc)
            except (ValueError, TypeError) as exc:  # the driver could not adapt a value
                self._rollback_or_discard(conn)
                raise ParameterError(
                    f"{exc} (the params do not fit the statement's placeholders, or a value "
                    "cannot be sent; nothing of the transaction was committed)",
                    database=self.name,
                    statement=number,
                ) from safe_cause(exc)
            except BaseException:
                # Whatever interrupted us, the open transaction must not be committed by
                # the next call on this connection.
                self._rollback_or_discard(conn)
                raise
            finally:
                if not self.persistent:
                    self._discard()

    def close(self) -> None:
        with self._lock:
            self._discard()

    # -- internals ------------------------------------------------------------------------

    def _connection(self) -> Any:
        if self._conn is None:
            self._conn = self._connect()
        return self._conn

    def _rollback_or_discard(self, conn: Any) -> None:
        try:
            conn.rollback()
        except Exception:
            self._discard()

    def _discard(self) -> None:
        conn, self._conn = self._conn, None
        if conn is not None:
            # Closing a dead connection may fail; it is gone either way.
            with contextlib.suppress(Exception):
                conn.close()


class SQLQueryNode(Node):
    """A workflow node running a fixed, parameterised statement (`query`) or a fixed list of
    statements in one transaction (`statements`). Values come from the `params` input: one
    sequence/mapping for `query`, a list of them (one per statement) for `statements`.

    Outputs: `rows` (list of dicts), `columns`, `rowcount`, `lastrowid`, `result`
    (the `QueryResult`) and `results` (one `QueryResult` per statement)."""

    database_cls: ClassVar[type[SQLDatabase]]
    config_keys = frozenset({"connection", "query", "statements", "connect_timeout"})
    required_config = frozenset({"connection"})
    outputs = ("rows", "columns", "rowcount", "lastrowid", "result", "results")
    __slots__ = ()

    def validate_config(self) -> None:
        super().validate_config()
        where = f"node {self.node_id!r} ({self.node_type})"
        query, statements = self.config.get("query"), self.config.get("statements")
        if (query is None) == (statements is None):
            raise WorkflowValidationError(
                f"{where}: give exactly one of 'query' (one statement) or 'statements' "
                "(a list run in one transaction)"
            )
        texts = [query] if query is not None else statements
        if not isinstance(texts, list | tuple) or not texts:
            raise WorkflowValidationError(f"{where}: 'statements' must be a non-empty list")
        for text in texts:
            if not isinstance(text, str) or not text.strip():
                raise WorkflowValidationError(
                    f"{where}: every statement must be a non-empty SQL string, got {text!r}"
                )
        if not isinstance(self.config["connection"], str) or not self.config["connection"]:
            raise WorkflowValidationError(f"{where}: 'connection' must be a DSN string")
        self.database_cls.check_dsn(self.config["connection"])  # a bad port fails at build

    def _database(self) -> SQLDatabase:
        return self.database_cls(
            self.config["connection"],
            connect_timeout=self.config.get("connect_timeout", 10.0),
            persistent=False,
        )

    def run(self, params: Any = None) -> dict[str, Any]:  # type: ignore[override]  # names its one input
        query = self.config.get("query")
        if query is not None:
            statements: list[Statement] = [(query, params)]
        else:
            texts = list(self.config["statements"])
            if params is None:
                params = [None] * len(texts)
            if isinstance(params, str | bytes) or not isinstance(params, Sequence):
                raise UnsafeQueryError(
                    f"node {self.node_id!r}: with 'statements', params must be a list with "
                    f"one entry per statement, got {type(params).__name__}"
                )
            if len(params) != len(texts):
                raise UnsafeQueryError(
                    f"node {self.node_id!r}: {len(texts)} statements but {len(params)} "
                    "parameter sets"
                )
            statements = list(zip(texts, params, strict=True))
        results = self._database().transaction(statements)
        last = results[-1]
        return {
            "rows": [dict(r) for r in last.rows],
            "columns": list(last.columns),
            "rowcount": last.rowcount,
            "lastrowid": last.lastrowid,
            "result": last,
            "results": results,
        }
