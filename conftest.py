"""Root conftest: registers the toolkit's pytest plugins (one small module per concern)."""

pytest_plugins = [
    "tests.utils.pytest_tiers",
    "tests.utils.pytest_performance",
    "tests.utils.pytest_services",
    "tests.utils.pytest_ollama_env",
    "pytester",  # plugin tests drive inner pytest runs
]
