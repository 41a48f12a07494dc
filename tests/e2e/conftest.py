"""E2E fixtures: the service plugin's isolated databases (tests/utils/pytest_services.py),
plus private servers for the fault scenarios, so that restarting or killing a server never
disturbs the run's shared stack."""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from tests.integration.audit.conftest import audit_store  # noqa: F401  (fixture)
from tests.integration.coordination.conftest import llm_agent  # noqa: F401  (fixture)
from tests.integration.dataflow.conftest import redis_url  # noqa: F401  (fixture)
from tests.utils.integration_helpers import wait_for_condition
from tests.utils.ollama_server.process import free_port
from tests.utils.pytest_services import strict_services

START_TIMEOUT_S = 60.0


@dataclass
class PrivatePostgres:
    """A PostgreSQL started by the stack's local starter on a free port, restartable in
    place (same data directory), stopped by PID."""

    dsn: str
    started: Any  # tests.utils._services.local.Started
    record: Any  # tests.utils._services.registry.OwnRecord: reaped if this run dies
    restarts: int = 0
    pids: list[int] = field(default_factory=list)

    @property
    def pid(self) -> int:
        return int(self.started.popen.pid)

    def restart(self) -> None:
        """Fast shutdown (SIGINT: sessions are terminated, committed data is checkpointed),
        then the same command on the same data directory; ready when a real connect works."""
        import psycopg2

        from tests.utils._services.local import Started

        self.started.terminate()
        log = open(self.started.log_path, "ab")  # noqa: SIM115  (the child keeps it)
        try:
            popen = subprocess.Popen(
                self.started.command,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
                cwd=self.started.base_dir,
            )
        finally:
            log.close()
        self.started = Started(
            popen,
            self.started.base_dir,
            self.started.command,
            self.started.log_path,
            stop_signal=self.started.stop_signal,
        )
        self.pids.append(popen.pid)
        self.record.spawned(popen.pid, self.started.command)
        self.restarts += 1

        def ready() -> bool:
            if self.started.exited() is not None:
                raise RuntimeError(f"postgres did not come back: {self.started.exited()}")
            psycopg2.connect(self.dsn, connect_timeout=2).close()
            return True

        wait_for_condition(
            ready,
            timeout=START_TIMEOUT_S,
            interval=0.05,
            message="restarted postgres accepts connections",
            ignore=(psycopg2.OperationalError,),
        )


@pytest.fixture
def private_postgres(pytestconfig: pytest.Config) -> Iterator[PrivatePostgres]:
    """In a private state directory with its record written before the spawn: should this
    run be killed, the next run's reap stops the server and removes its data."""
    from tests.utils._services import local
    from tests.utils._services.registry import OwnRecord, stop_process
    from tests.utils._services.settings import load_settings, postgres_url
    from tests.utils._services.stack import make_private_state_dir

    port = free_port()
    settings = load_settings({**os.environ, "KAIZEN_TEST_POSTGRES_PORT": str(port)})["postgresql"]
    root = make_private_state_dir(load_settings())
    base = root / "data" / f"postgresql-{port}"
    record = OwnRecord(root, "postgresql", settings.endpoint, base, create=False)
    try:
        started = local.start(settings, base, START_TIMEOUT_S, on_spawn=record.spawned)
    except (local.LocalUnavailable, local.LocalStartError) as exc:
        if record.record.pid is not None:  # spawned, then failed: stop it by its identity
            stop_process(record.record)
        record.forget()
        shutil.rmtree(root, ignore_errors=True)
        reason = f"private postgresql on 127.0.0.1:{port} unavailable: {exc}"
        if strict_services(pytestconfig):
            pytest.fail(reason)
        pytest.skip(reason)
    record.spawned(started.popen.pid, started.command)
    server = PrivatePostgres(postgres_url(settings), started, record, pids=[started.popen.pid])
    try:
        yield server
    finally:
        server.started.terminate()
        record.forget()
        shutil.rmtree(root, ignore_errors=True)


@pytest.fixture
def private_llm_server(pytestconfig: pytest.Config, tmp_path: Path) -> Iterator[Any]:
    """The project's LLM server as a child of this test (no embeddings), to be killed."""
    import tests.utils.ollama_server as llm
    from tests.utils.ollama_server.process import start_server, stop_server

    ok, reason = llm.is_available()
    if not ok:
        if strict_services(pytestconfig):
            pytest.fail(f"private LLM server unavailable: {reason}")
        pytest.skip(f"private LLM server unavailable: {reason}")
    server = start_server(tmp_path, embeddings=False)
    try:
        yield server
    finally:
        stop_server(server)  # also when the test killed it: drops its record
