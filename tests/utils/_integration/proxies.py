"""Loopback proxies that make real faults: `TcpFaultProxy` (delay, drop, refuse
connections to a real service) and `LLMOutputCorrupter` (an HTTP proxy that corrupts the
LLM server's answers)."""

from __future__ import annotations

import asyncio
import contextlib
import json
import threading
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TypeVar

from tests.utils.errors import ToolkitError

if TYPE_CHECKING:
    from http.server import ThreadingHTTPServer

T = TypeVar("T")


class FaultError(ToolkitError, RuntimeError):
    """A fault could not be injected (e.g. the process is not one the toolkit started)."""


def _loopback_only(host: str) -> None:
    import ipaddress

    if host != "localhost" and not ipaddress.ip_address(host).is_loopback:
        raise FaultError(f"fault proxies only forward to loopback addresses, got {host!r}")


class TcpFaultProxy:
    """A loopback TCP proxy (asyncio, own thread) in front of a real service.

    `latency` delays every chunk in both directions; `drop_connections()` cuts every live
    connection; `refuse_new` closes new connections at once; `drop_after_bytes` cuts a
    connection once that many bytes came back from the server.
    """

    def __init__(self, target_host: str, target_port: int, *, latency: float = 0.0) -> None:
        _loopback_only(target_host)
        self.target = (target_host, target_port)
        self.latency = latency
        self.refuse_new = False
        self.drop_after_bytes: int | None = None
        self.connections = 0
        self._writers: set[asyncio.StreamWriter] = set()
        self._loop = asyncio.new_event_loop()
        self._ready = threading.Event()
        self._server: asyncio.AbstractServer | None = None
        self._thread = threading.Thread(target=self._run, name="kaizen-fault-proxy", daemon=True)
        self.port = 0

    def start(self) -> TcpFaultProxy:
        self._thread.start()
        if not self._ready.wait(10):
            raise FaultError("fault proxy did not start within 10 s")
        if self._server is None:
            raise FaultError("fault proxy failed to bind 127.0.0.1")
        return self

    @property
    def address(self) -> tuple[str, int]:
        return ("127.0.0.1", self.port)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def _run(self) -> None:
        asyncio.set_event_loop(self._loop)
        try:
            self._server = self._loop.run_until_complete(
                asyncio.start_server(self._handle, "127.0.0.1", 0)
            )
            self.port = self._server.sockets[0].getsockname()[1]
        finally:
            self._ready.set()
        self._loop.run_forever()

    async def _pipe(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, from_server: bool
    ) -> None:
        sent = 0
        try:
            while chunk := await reader.read(65536):
                if self.latency:
                    await asyncio.sleep(self.latency)  # the injected fault itself
                if from_server and self.drop_after_bytes is not None:
                    allowed = self.drop_after_bytes - sent
                    if allowed <= 0:
                        break
                    chunk = chunk[:allowed]
                writer.write(chunk)
                await writer.drain()
                sent += len(chunk)
                cap = self.drop_after_bytes
                if from_server and cap is not None and sent >= cap:
                    break
        except (ConnectionError, asyncio.CancelledError):
            pass
        finally:
            with contextlib.suppress(Exception):
                writer.close()

    async def _handle(self, client_r: asyncio.StreamReader, client_w: asyncio.StreamWriter) -> None:
        self.connections += 1
        if self.refuse_new:
            client_w.close()
            return
        try:
            server_r, server_w = await asyncio.open_connection(*self.target)
        except OSError:
            client_w.close()
            return
        self._writers.update((client_w, server_w))
        try:
            await asyncio.gather(
                self._pipe(client_r, server_w, False), self._pipe(server_r, client_w, True)
            )
        finally:
            self._writers.difference_update((client_w, server_w))

    def drop_connections(self) -> int:
        """Close every live connection now; returns how many sockets were cut."""

        def cut() -> int:
            count = len(self._writers)
            for writer in list(self._writers):
                transport = writer.transport
                if transport is not None:
                    transport.abort()
            return count

        return asyncio.run_coroutine_threadsafe(_call(cut), self._loop).result(10)

    def stop(self) -> None:
        if not self._thread.is_alive():
            return

        async def shutdown() -> None:
            if self._server is not None:
                self._server.close()
            for writer in list(self._writers):
                if writer.transport is not None:
                    writer.transport.abort()

        asyncio.run_coroutine_threadsafe(shutdown(), self._loop).result(10)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(10)
        self._loop.close()


async def _call(fn: Callable[[], T]) -> T:
    return fn()


CorruptFn = Callable[[str], str]


def _corrupt_truncate(text: str) -> str:
    return text[: max(1, len(text) // 2)]


class LLMOutputCorrupter:
    """An HTTP proxy in front of a real Ollama-API server that corrupts the model's text.

    Requests go to the real server unchanged; in `/api/generate` and `/api/chat` answers the
    generated text is passed through `corrupt` (default: cut in half, which breaks JSON).
    It is a fault injector: every answer still comes from the real model.
    """

    def __init__(self, upstream: str, corrupt: CorruptFn = _corrupt_truncate) -> None:
        from urllib.parse import urlparse

        parsed = urlparse(upstream)
        _loopback_only(parsed.hostname or "")
        self.upstream = upstream.rstrip("/")
        self.corrupt = corrupt
        self.corrupted = 0
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None
        self._url = ""

    @property
    def url(self) -> str:
        if not self._url:
            raise FaultError("the corrupter is not started")
        return self._url

    def start(self) -> LLMOutputCorrupter:
        from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

        proxy = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: Any) -> None:
                return

            def _forward(self) -> None:
                import httpx

                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                headers = {"Content-Type": self.headers.get("Content-Type", "application/json")}
                with httpx.Client(timeout=600) as client:
                    upstream = client.request(
                        self.command, proxy.upstream + self.path, content=body, headers=headers
                    )
                payload = upstream.content
                if self.path.startswith(("/api/generate", "/api/chat")) and upstream.is_success:
                    payload = proxy._rewrite(payload)
                self.send_response(upstream.status_code)
                self.send_header(
                    "Content-Type", upstream.headers.get("content-type", "application/json")
                )
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            do_GET = do_POST = do_DELETE = do_HEAD = _forward

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self._url = f"http://127.0.0.1:{self._server.server_address[1]}"
        self._thread = threading.Thread(
            target=self._server.serve_forever, name="kaizen-llm-corrupter", daemon=True
        )
        self._thread.start()
        return self

    def _rewrite(self, payload: bytes) -> bytes:
        """Non-streamed answers are one JSON object, streamed ones NDJSON lines; the text of
        all of them, joined, is corrupted and handed back in the first line."""
        lines = [json.loads(line) for line in payload.splitlines() if line.strip()]
        if not lines:
            return payload

        def get(obj: dict[str, Any]) -> str:
            if "response" in obj:
                return str(obj["response"])
            return str(obj.get("message", {}).get("content", ""))

        def put(obj: dict[str, Any], text: str) -> None:
            if "response" in obj:
                obj["response"] = text
            elif "message" in obj:
                obj["message"]["content"] = text

        corrupted = self.corrupt("".join(get(obj) for obj in lines))
        for index, obj in enumerate(lines):
            put(obj, corrupted if index == 0 else "")
        self.corrupted += 1
        return b"\n".join(json.dumps(obj).encode() for obj in lines) + (
            b"\n" if len(lines) > 1 else b""
        )

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None
        if self._thread is not None:
            self._thread.join(10)
