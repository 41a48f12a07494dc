from tests.integration.coordination.conftest import llm_agent  # noqa: F401  (fixture)
from tests.integration.dataflow.real_endpoints import (  # noqa: F401  (fixtures)
    mongo_collection,
    mongo_db_name,
    mongo_url,
    mysql_dsn,
    mysql_table,
    ollama_endpoint,
    pg_dsn,
    redis_prefix,
    redis_url,
)
