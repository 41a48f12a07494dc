"""The tier plugin's parts, one job per module (`tests.utils.pytest_tiers` registers them):

- `layout`: a test's tier comes from its directory; markers; the toolkit is never collected;
- `violations`: the running test, and failing it when a guard tripped (even if swallowed);
- `scan`: integration/e2e modules read with `ast` before import: no mocks, no fakes;
- `providers`: kaizen's public `ALLOW_FAKE_PROVIDERS` switch off in integration/e2e tests;
- `sockets`: unit tests reach loopback only, and never an Ollama (real LLM) port;
- `timeouts`: a default per-tier timeout for pytest-timeout, scalable.
"""

#: Load order: a part is loaded after the parts it imports (pytest rewrites asserts only in
#: modules it imports itself).
PLUGINS = ("layout", "violations", "scan", "providers", "sockets", "timeouts")
