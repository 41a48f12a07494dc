from tests.integration.dataflow.real_endpoints import (  # noqa: F401
    mongo_collection,
    mongo_db_name,
    mongo_url,
    mysql_dsn,
    mysql_table,
    pg_dsn,
    pg_table,
    redis_prefix,
    redis_url,
)
