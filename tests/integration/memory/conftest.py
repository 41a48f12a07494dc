from tests.integration.dataflow.real_endpoints import (  # noqa: F401  (fixtures)
    ollama_endpoint,
    pg_dsn,
    redis_url,
)
