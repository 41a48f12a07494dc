"""A server started by `start_server` is recorded, so a SIGKILLed starter leaves nothing."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import textwrap

import pytest

import tests.utils.ollama_server as local
from tests.utils._services.polling import poll
from tests.utils._services.registry import Registry, pid_alive, stop_process
from tests.utils._services.settings import REPO_ROOT, load_settings
from tests.utils._services.stack import Stack, make_private_state_dir

_STARTER = textwrap.dedent(
    """
    import sys, threading
    from pathlib import Path
    from tests.utils.ollama_server.process import start_server
    server = start_server(Path(sys.argv[1]), embeddings=False)
    print(server.process.pid, flush=True)
    threading.Event().wait(600)
    """
)


@pytest.fixture
def private_state_dir():
    path = make_private_state_dir(load_settings())
    yield path
    shutil.rmtree(path, ignore_errors=True)


def test_a_killed_starter_leaves_a_recorded_server_the_next_reap_stops(
    private_state_dir, tmp_path
) -> None:
    ok, reason = local.is_available()
    if not ok:
        pytest.skip(f"local Ollama-API server unavailable: {reason}")
    records = []
    env = {**os.environ, "KAIZEN_TEST_STATE_DIR": str(private_state_dir)}
    starter = subprocess.Popen(
        [sys.executable, "-c", _STARTER, str(tmp_path)],
        cwd=REPO_ROOT,
        env=env,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert starter.stdout is not None
        pid = int(starter.stdout.readline())
        records[:] = Registry(private_state_dir).records().values()
        assert [(r.service, r.pid, r.state) for r in records] == [("ollama-server", pid, "running")]
        os.kill(starter.pid, signal.SIGKILL)
        starter.wait(30)
        assert pid_alive(pid, records[0].identity)  # orphaned: nobody would stop it before

        outcome = Stack(settings=load_settings(env)).reap()

        assert poll(lambda: not pid_alive(pid, records[0].identity), 30), outcome
        assert any("reaped" in v for v in outcome.values()), outcome
        assert Registry(private_state_dir).read()["services"] == {}
    finally:
        if starter.poll() is None:
            starter.kill()
            starter.wait()
        for rec in records:  # should the reap have failed: stop it by its verified identity
            if pid_alive(rec.pid, rec.identity):
                stop_process(rec)
