"""MongoDB through pymongo (imported on first use: `pip install 'kaizen[mongodb]'`).

MongoDB has no query language string to inject into: filters, updates and pipelines are
documents passed as data. What remains dangerous is server-side JavaScript, so `$where`,
`$function` and `$accumulator` are refused wherever they appear (filters, projections,
updates, documents, pipelines).
"""

from __future__ import annotations

import threading
from collections.abc import Mapping, Sequence
from typing import Any, ClassVar

from kaizen._redact import safe_cause
from kaizen.dataflow._sql import endpoint_of
from kaizen.dataflow.errors import (
    ConnectionLostError,
    DatabaseConnectionError,
    DataFlowError,
    IntegrityViolationError,
    InvalidConnectionError,
    MissingDriverError,
    QueryError,
    UnsafeQueryError,
)
from kaizen.errors import WorkflowValidationError
from kaizen.workflow.node import Node, register_node

OPERATIONS = (
    "find",
    "find_one",
    "insert_one",
    "insert_many",
    "update_one",
    "update_many",
    "delete_one",
    "delete_many",
    "count",
    "aggregate",
)
_SCRIPT_OPERATORS = frozenset({"$where", "$function", "$accumulator"})
_NAME = "mongodb"


def _pymongo() -> Any:
    try:
        import pymongo
        import pymongo.errors
    except ImportError:
        raise MissingDriverError(_NAME, "pymongo", "mongodb") from None
    return pymongo


def _check_document(value: Any, label: str, *, allow_none: bool = False) -> dict[str, Any]:
    if value is None and allow_none:
        return {}
    if not isinstance(value, Mapping):
        raise UnsafeQueryError(
            f"{label} must be a document (mapping), got {type(value).__name__} {value!r}",
            database=_NAME,
        )
    _refuse_scripts(value, label)
    return dict(value)


def _refuse_scripts(value: Any, label: str) -> None:
    if isinstance(value, Mapping):
        for key, inner in value.items():
            if key in _SCRIPT_OPERATORS:
                raise UnsafeQueryError(
                    f"{label} uses {key}, which runs JavaScript on the server; express the "
                    "condition with query operators instead",
                    database=_NAME,
                )
            _refuse_scripts(inner, label)
    elif isinstance(value, list | tuple):
        for inner in value:
            _refuse_scripts(inner, label)


def _check_projection(value: Any) -> dict[str, Any] | list[str] | None:
    """A projection may hold aggregation expressions (MongoDB 4.4+), so `$function` runs
    there as well as in a filter: screened the same way."""
    if value is None:
        return None
    if isinstance(value, Mapping):
        return _check_document(value, "projection")
    if isinstance(value, list | tuple) and all(isinstance(v, str) for v in value):
        _refuse_scripts({name: 1 for name in value}, "projection")
        return list(value)
    raise UnsafeQueryError(
        f"projection must be a document or a list of field names, got "
        f"{type(value).__name__} {value!r}",
        database=_NAME,
    )


def _plain(value: Any) -> Any:
    """ObjectIds become strings so results are plain, JSON-ready Python values."""
    from bson import ObjectId

    if isinstance(value, ObjectId):
        return str(value)
    if isinstance(value, Mapping):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    return value


class MongoDatabase:
    """Typed operations on one database; `transaction()` runs several all-or-nothing."""

    name: ClassVar[str] = _NAME

    def __init__(self, url: str, database: str, *, timeout_ms: int = 10_000) -> None:
        if not isinstance(url, str) or not url.startswith(("mongodb://", "mongodb+srv://")):
            raise UnsafeQueryError(
                f"connection must be a mongodb:// URL, got {url!r}", database=_NAME
            )
        if not isinstance(database, str) or not database:
            raise UnsafeQueryError(
                f"database must be a non-empty name, got {database!r}", database=_NAME
            )
        self.url = url
        self.database = database
        self.endpoint = endpoint_of(url)
        self.timeout_ms = timeout_ms
        self._client: Any = None
        self._lock = threading.Lock()

    def __repr__(self) -> str:
        return f"MongoDatabase({self.endpoint}, database={self.database!r})"

    def __enter__(self) -> MongoDatabase:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _db(self) -> Any:
        pymongo = _pymongo()
        with self._lock:
            if self._client is None:
                options: dict[str, Any] = {
                    "serverSelectionTimeoutMS": self.timeout_ms,
                    "connectTimeoutMS": self.timeout_ms,
                    "socketTimeoutMS": self.timeout_ms * 6,
                }
                lowered = self.url.lower()
                if "directconnection" not in lowered and "replicaset" not in lowered:
                    options["directConnection"] = True
                try:
                    self._client = pymongo.MongoClient(self.url, **options)
                except (ValueError, pymongo.errors.ConfigurationError) as exc:
                    # e.g. a non-numeric port: pymongo raises a bare ValueError for it
                    raise InvalidConnectionError(
                        str(exc),
                        database=_NAME,
                        part="url",
                        hint="mongodb://user:password@host:27017/",
                    ) from safe_cause(exc)
            return self._client[self.database]

    def close(self) -> None:
        with self._lock:
            client, self._client = self._client, None
        if client is not None:
            client.close()

    def run(self, operation: str, collection: str, **args: Any) -> Any:
        """One operation; see `OPERATIONS`. Arguments: filter, document, documents, update,
        pipeline, projection, sort, limit, upsert."""
        return self._guard(lambda: self._apply(self._db(), operation, collection, args, None))

    def transaction(self, operations: Sequence[Mapping[str, Any]]) -> list[Any]:
        """Each item: {"operation", "collection", ...arguments}. Aborted as a whole on error."""
        if not operations:
            raise UnsafeQueryError("transaction needs at least one operation", database=_NAME)
        specs = [dict(op) for op in operations]

        def body() -> list[Any]:
            db = self._db()
            with db.client.start_session() as session, session.start_transaction():
                return [
                    self._apply(
                        db,
                        spec.pop("operation", None),
                        spec.pop("collection", None),
                        spec,
                        session,
                    )
                    for spec in specs
                ]

        return self._guard(body)

    # -- internals -------------------------------------------------------------------------

    def _guard(self, call: Any) -> Any:
        pymongo = _pymongo()
        errors = pymongo.errors
        try:
            return call()
        except errors.ServerSelectionTimeoutError as exc:
            raise DatabaseConnectionError(
                f"cannot connect: {str(exc).split(',')[0]}",
                database=_NAME,
                endpoint=self.endpoint,
            ) from safe_cause(exc)
        except (errors.AutoReconnect, errors.ConnectionFailure) as exc:
            raise ConnectionLostError(
                f"connection lost during the operation ({exc}); an open transaction was aborted",
                database=_NAME,
                endpoint=self.endpoint,
            ) from safe_cause(exc)
        except errors.DuplicateKeyError as exc:
            raise IntegrityViolationError(
                str(exc.details.get("errmsg", exc)) if exc.details else str(exc),
                database=_NAME,
                query="write",
                code=str(exc.code),
            ) from exc
        except errors.OperationFailure as exc:
            raise QueryError(
                str(exc.details.get("errmsg", exc)) if exc.details else str(exc),
                database=_NAME,
                query="operation",
                code=str(exc.code),
            ) from exc
        except errors.PyMongoError as exc:
            raise DataFlowError(f"{type(exc).__name__}: {exc}", database=_NAME) from safe_cause(exc)

    def _apply(
        self, db: Any, operation: Any, collection: Any, args: Mapping[str, Any], session: Any
    ) -> Any:
        if operation not in OPERATIONS:
            raise UnsafeQueryError(
                f"unknown operation {operation!r}; use one of {', '.join(OPERATIONS)}",
                database=_NAME,
            )
        if not isinstance(collection, str) or not collection or "$" in collection:
            raise UnsafeQueryError(
                f"collection must be a plain name, got {collection!r}", database=_NAME
            )
        allowed = {
            "filter",
            "document",
            "documents",
            "update",
            "pipeline",
            "projection",
            "sort",
            "limit",
            "upsert",
        }
        unknown = set(args) - allowed
        if unknown:
            raise UnsafeQueryError(
                f"unknown argument(s) {', '.join(sorted(unknown))} for {operation}",
                database=_NAME,
            )
        coll = db[collection]
        flt = _check_document(args.get("filter"), "filter", allow_none=True)
        projection = _check_projection(args.get("projection"))
        kw: dict[str, Any] = {"session": session}
        if operation == "find":
            cursor = coll.find(flt, projection, **kw)
            if args.get("sort"):
                cursor = cursor.sort(list(args["sort"]))
            if args.get("limit"):
                cursor = cursor.limit(int(args["limit"]))
            return [_plain(d) for d in cursor]
        if operation == "find_one":
            return _plain(coll.find_one(flt, projection, **kw))
        if operation == "count":
            return int(coll.count_documents(flt, **kw))
        if operation == "insert_one":
            doc = _check_document(args.get("document"), "document")
            return {"inserted_id": _plain(coll.insert_one(doc, **kw).inserted_id)}
        if operation == "insert_many":
            docs = args.get("documents")
            if not isinstance(docs, list | tuple) or not docs:
                raise UnsafeQueryError("documents must be a non-empty list", database=_NAME)
            checked = [_check_document(d, "documents[]") for d in docs]
            return {"inserted_ids": _plain(coll.insert_many(checked, **kw).inserted_ids)}
        if operation in ("update_one", "update_many"):
            update = _check_document(args.get("update"), "update")
            if not update or not all(str(k).startswith("$") for k in update):
                raise UnsafeQueryError(
                    "update must contain only update operators such as $set or $inc "
                    "(a plain document would replace the stored one)",
                    database=_NAME,
                )
            method = coll.update_one if operation == "update_one" else coll.update_many
            res = method(flt, update, upsert=bool(args.get("upsert")), **kw)
            return {
                "matched": res.matched_count,
                "modified": res.modified_count,
                "upserted_id": _plain(res.upserted_id),
            }
        if operation in ("delete_one", "delete_many"):
            method = coll.delete_one if operation == "delete_one" else coll.delete_many
            return {"deleted": method(flt, **kw).deleted_count}
        pipeline = args.get("pipeline")
        if not isinstance(pipeline, list | tuple):
            raise UnsafeQueryError("pipeline must be a list of stages", database=_NAME)
        _refuse_scripts(pipeline, "pipeline")
        return [_plain(d) for d in coll.aggregate(list(pipeline), **kw)]


@register_node
class MongoDBNode(Node):
    """One MongoDB operation per run. Config: `connection` (mongodb:// URL), `database`,
    `collection`, `operation` (see `OPERATIONS`, or "transaction"), optional `projection`,
    `sort`, `limit`, `upsert`. Inputs: `filter`, `document`, `documents`, `update`,
    `pipeline`; for "transaction": `operations`. Output: `result`."""

    config_keys = frozenset(
        {
            "connection",
            "database",
            "collection",
            "operation",
            "projection",
            "sort",
            "limit",
            "upsert",
            "timeout_ms",
        }
    )
    required_config = frozenset({"connection", "database", "operation"})
    outputs = ("result",)
    __slots__ = ()

    def validate_config(self) -> None:
        super().validate_config()
        op = self.config["operation"]
        if op != "transaction" and op not in OPERATIONS:
            raise WorkflowValidationError(
                f"node {self.node_id!r} (MongoDBNode): operation must be one of "
                f"{', '.join(OPERATIONS)} or 'transaction', got {op!r}"
            )
        if op != "transaction" and not self.config.get("collection"):
            raise WorkflowValidationError(
                f"node {self.node_id!r} (MongoDBNode): 'collection' is required for {op}"
            )
        _check_projection(self.config.get("projection"))  # refused at build, not first run

    def run(self, **inputs: Any) -> dict[str, Any]:
        cfg = self.config
        with MongoDatabase(
            cfg["connection"], cfg["database"], timeout_ms=cfg.get("timeout_ms", 10_000)
        ) as db:
            if cfg["operation"] == "transaction":
                unknown = set(inputs) - {"operations"}
                if unknown:
                    raise UnsafeQueryError(
                        f"transaction takes only 'operations', got {sorted(unknown)}",
                        database=_NAME,
                    )
                return {"result": db.transaction(inputs.get("operations") or [])}
            args = {k: cfg[k] for k in ("projection", "sort", "limit", "upsert") if k in cfg}
            args.update(inputs)
            return {"result": db.run(cfg["operation"], cfg["collection"], **args)}
