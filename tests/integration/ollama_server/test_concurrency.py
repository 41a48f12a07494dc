"""Queueing, disconnects, concurrent clients, and the process lifecycle."""

from __future__ import annotations

import json
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from tests.utils.lazy_import import lazy_import
from tests.utils.ollama_server import LLM_MODEL
from tests.utils.ollama_server.process import start_server, stop_server

httpx = lazy_import("httpx")  # on first use: collecting stays fast
ollama = lazy_import("ollama")  # on first use: collecting stays fast

TIMEOUT = 180.0


def _greedy(base_url: str, prompt: str) -> str:
    client = ollama.Client(host=base_url, timeout=TIMEOUT)
    options = {"num_predict": 16, "temperature": 0.0}
    return client.generate(model=LLM_MODEL, prompt=prompt, options=options).response


def test_client_disconnect_mid_stream_frees_the_slot(base_url: str) -> None:
    body = {
        "model": LLM_MODEL,
        "prompt": "Write an endless story:",
        "options": {"num_predict": 3000, "temperature": 1.0, "seed": 1},
    }
    with (
        httpx.Client(timeout=TIMEOUT) as http,
        http.stream("POST", base_url + "/api/generate", json=body) as response,
    ):
        assert response.status_code == 200
        lines = response.iter_lines()
        first = [json.loads(next(lines)) for _ in range(3)]
        assert all(chunk["done"] is False for chunk in first)
    # 3000 tokens would take a minute or more; a freed slot answers within seconds.
    started = time.perf_counter()
    assert _greedy(base_url, "Hello")
    assert time.perf_counter() - started < 30.0


def test_two_concurrent_clients_get_the_same_answers_as_sequential(base_url: str) -> None:
    prompts = ["The ocean is", "My favourite food is"]
    sequential = [_greedy(base_url, p) for p in prompts]
    with ThreadPoolExecutor(max_workers=2) as pool:
        concurrent = list(pool.map(lambda p: _greedy(base_url, p), prompts))
    assert concurrent == sequential
    assert all(sequential)


def test_concurrent_streams_interleave_safely(base_url: str) -> None:
    def stream(prompt: str) -> tuple[str, int]:
        client = ollama.Client(host=base_url, timeout=TIMEOUT)
        parts = list(
            client.generate(
                model=LLM_MODEL, prompt=prompt, stream=True, options={"num_predict": 12}
            )
        )
        return "".join(p.response or "" for p in parts), parts[-1].eval_count or 0

    with ThreadPoolExecutor(max_workers=3) as pool:
        results = list(pool.map(stream, ["Rain", "Sun", "Snow"]))
    assert all(count > 0 and text for text, count in results)


def test_start_binds_loopback_only_and_sigterm_exits_cleanly(tmp_path: Path) -> None:
    import psutil

    server = start_server(tmp_path, embeddings=False)
    try:
        assert httpx.get(server.url + "/api/tags", timeout=TIMEOUT).status_code == 200
        listening = [
            c.laddr
            for c in psutil.Process(server.process.pid).net_connections(kind="inet")
            if c.status == psutil.CONN_LISTEN
        ]
        # xllamacpp keeps its own internal listener too: every socket must be loopback.
        assert ("127.0.0.1", server.port) in [(a.ip, a.port) for a in listening]
        assert {a.ip for a in listening} == {"127.0.0.1"}
    finally:
        code = stop_server(server)
    assert code == 0, server.log_tail()
    assert "stopped" in server.log_tail()


def test_non_loopback_host_is_refused(tmp_path: Path) -> None:
    import subprocess

    from tests.utils.ollama_server import REPO_ROOT, server_command

    done = subprocess.run(
        server_command("0.0.0.0", 11999, embeddings=False),
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=TIMEOUT,
    )
    assert done.returncode == 2
    assert "loopback only" in done.stderr
