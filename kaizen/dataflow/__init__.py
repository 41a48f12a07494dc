"""Database workflow nodes ("DataFlow"): PostgreSQL, MySQL/MariaDB, MongoDB and Redis.

Importing this package registers the node types (`PostgresQueryNode`, `MySQLQueryNode`,
`MongoDBNode`, `RedisCommandNode`); the drivers themselves load on first use.
"""

from kaizen.dataflow.errors import (
    ConnectionLostError,
    DatabaseConnectionError,
    DataFlowError,
    IntegrityViolationError,
    InvalidConnectionError,
    MissingDriverError,
    ParameterError,
    QueryError,
    UnsafeQueryError,
)
from kaizen.dataflow.mongodb import MongoDatabase, MongoDBNode
from kaizen.dataflow.mysql import MySQLDatabase, MySQLQueryNode
from kaizen.dataflow.postgres import PostgresDatabase, PostgresQueryNode, connect_postgres
from kaizen.dataflow.redis import RedisCommandNode, RedisDatabase
from kaizen.dataflow.result import QueryResult

__all__ = [
    "ConnectionLostError",
    "DataFlowError",
    "DatabaseConnectionError",
    "IntegrityViolationError",
    "InvalidConnectionError",
    "MissingDriverError",
    "MongoDBNode",
    "MongoDatabase",
    "MySQLDatabase",
    "MySQLQueryNode",
    "ParameterError",
    "PostgresDatabase",
    "PostgresQueryNode",
    "QueryError",
    "QueryResult",
    "RedisCommandNode",
    "RedisDatabase",
    "UnsafeQueryError",
    "connect_postgres",
]
