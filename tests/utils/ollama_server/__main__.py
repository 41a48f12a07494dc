"""Run the local Ollama-API server in the foreground.

    python -m tests.utils.ollama_server --host 127.0.0.1 --port 11435 [--model-cache DIR]
        [--no-embeddings]

Order matters for honest health: the port is bound first (a taken port fails in
milliseconds, naming the port), the models are loaded and warmed (the LLM, and the
embedding model unless --no-embeddings or its dependencies are absent), and only then does
the socket listen. So a client that can connect talks to warm models. One line starting with
``ollama-server ready`` goes to stdout then; SIGTERM or SIGINT stop it with exit code 0.
"""

from __future__ import annotations

import argparse
import ipaddress
import logging
import os
import signal
import sys
import threading
import time
from pathlib import Path
from types import FrameType

from . import READY_PREFIX, settings
from .app import OllamaServer, ServerState
from .embeddings import EmbeddingModel
from .engine import DEFAULT_CTX, Engine
from .models import ModelUnavailableError, default_cache_dir, ensure_gguf, gemma_info

_log = logging.getLogger("ollama_server")


def _loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _parser() -> argparse.ArgumentParser:
    current = settings()
    parser = argparse.ArgumentParser(
        prog="python -m tests.utils.ollama_server", description=__doc__.split("\n\n")[0]
    )
    parser.add_argument("--host", default=current.host, help="loopback address to bind")
    parser.add_argument("--port", type=int, default=current.port)
    parser.add_argument("--model-cache", type=Path, default=None, help="where the GGUF is kept")
    parser.add_argument("--no-embeddings", action="store_true", help="do not serve embeddings")
    parser.add_argument("--ctx", type=int, default=DEFAULT_CTX, help="context length in tokens")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--verbose", action="store_true", help="llama.cpp and request logs")
    parser.add_argument(
        "--in-container",
        action="store_true",
        help="allow a non-loopback --host: only inside a container (the image's entrypoint), "
        "whose engine publishes the port on 127.0.0.1",
    )
    return parser


def _bind_refusal(host: str, in_container: bool, pid: int | None = None) -> str | None:
    """Why `host` may not be bound, or None. A host's server binds loopback only; inside a
    container a published port reaches the server only through the container's own
    interface, so there any address may be bound. "There" is checked as "this process is
    PID 1", which the image's exec-form entrypoint is and no process on a host is: marker
    files are no proof (our own VMs carry a /.dockerenv)."""
    if _loopback(host):
        return None
    if not in_container:
        return f"refusing to bind {host}: the test LLM server binds loopback only"
    pid = os.getpid() if pid is None else pid
    if pid != 1:
        return (
            f"refusing to bind {host}: --in-container given, but this process is PID {pid}, "
            "not a container's first process (the image's entrypoint)"
        )
    return None


def main(argv: list[str] | None = None) -> int:
    started = time.perf_counter()
    args = _parser().parse_args(argv)
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.INFO,
        format="%(asctime)s ollama-server %(levelname)s %(message)s",
        stream=sys.stderr,
    )
    refusal = _bind_refusal(args.host, args.in_container)
    if refusal:
        _log.error("%s", refusal)
        return 2
    cache = args.model_cache or default_cache_dir()
    try:
        model_path, digest = ensure_gguf(cache)
    except ModelUnavailableError as exc:
        _log.error("%s", exc)
        return 3
    embeddings = EmbeddingModel()
    engine = Engine(model_path, n_ctx=args.ctx, n_threads=args.threads, verbose=args.verbose)
    state = ServerState(engine, gemma_info(model_path, digest, args.ctx), embeddings)
    try:
        # Bound now (a taken port fails fast), listening only once the model is warm.
        server = OllamaServer((args.host, args.port), state, listen=False)
    except OSError as exc:
        _log.error("cannot bind %s:%d: %s", args.host, args.port, exc)
        return 4
    try:
        engine.load()
    except Exception as exc:
        _log.error("loading %s failed: %s: %s", model_path, type(exc).__name__, exc)
        server.server_close()
        return 3
    if not args.no_embeddings:
        try:
            embeddings.load()
        except ModelUnavailableError as exc:
            _log.error("%s", exc)
            server.server_close()
            engine.close()
            return 3
        if embeddings.reason is not None:
            _log.warning("embedding model not served: %s", embeddings.reason)
    server.server_activate()
    stop = threading.Event()

    def on_signal(signum: int, _frame: FrameType | None) -> None:
        if not stop.is_set():
            stop.set()
            threading.Thread(target=server.shutdown, daemon=True).start()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    print(
        f"{READY_PREFIX} on http://{args.host}:{args.port} model={state.llm.name} "
        f"load_ms={engine.load_ns / 1e6:.0f} embed_load_ms={embeddings.load_ns / 1e6:.0f} "
        f"embed={embeddings.state} start_ms={(time.perf_counter() - started) * 1e3:.0f}",
        flush=True,
    )
    try:
        server.serve_forever(poll_interval=0.2)
    finally:
        server.server_close()
        engine.close()
    _log.info("stopped")
    return 0


if __name__ == "__main__":
    sys.exit(main())
