"""HTTP framing on error paths: one keep-alive connection survives every error, and every
answer is Ollama's JSON error shape, never an HTML page.

Why raw sockets: a pooling client (httpx, requests) silently reconnects, which would hide a
connection left with an unread body. Here each request is written by hand on one socket
(some pipelined in one write), and each response is parsed off the same byte stream, so a
body the server failed to consume shows up as a misparsed next answer.
"""

from __future__ import annotations

import json
import socket
from collections.abc import Iterator
from dataclasses import dataclass
from typing import BinaryIO

import pytest

from tests.utils.ollama_server import LLM_MODEL
from tests.utils.ollama_server.process import RunningServer

TIMEOUT = 120.0
SHOW = json.dumps({"model": LLM_MODEL}).encode()


@dataclass
class Answer:
    status: int
    headers: dict[str, str]
    body: bytes

    def json(self) -> dict[str, object]:
        assert self.headers.get("content-type", "").startswith("application/json"), self
        parsed = json.loads(self.body)
        assert isinstance(parsed, dict)
        return parsed


def _request(method: str, path: str, body: bytes = b"", **headers: str) -> bytes:
    lines = [f"{method} {path} HTTP/1.1", "Host: 127.0.0.1"]
    if body and "Content-Length" not in headers and "Transfer-Encoding" not in headers:
        lines.append(f"Content-Length: {len(body)}")
    lines += [f"{name.replace('_', '-')}: {value}" for name, value in headers.items()]
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + body


def _read_answer(fp: BinaryIO, *, head: bool = False) -> Answer:
    status_line = fp.readline()
    assert status_line.startswith(b"HTTP/1.1 "), f"not an HTTP status line: {status_line!r}"
    headers: dict[str, str] = {}
    while (line := fp.readline()) not in (b"\r\n", b""):
        name, _, value = line.decode("latin-1").partition(":")
        headers[name.strip().lower()] = value.strip()
    if head:
        return Answer(int(status_line.split()[1]), headers, b"")
    if headers.get("transfer-encoding") == "chunked":
        body = b""
        while size := int(fp.readline().strip(), 16):
            body += fp.read(size)
            fp.read(2)
        fp.readline()
    else:
        body = fp.read(int(headers["content-length"]))
    return Answer(int(status_line.split()[1]), headers, body)


@pytest.fixture
def conn(ollama_server: RunningServer) -> Iterator[tuple[socket.socket, BinaryIO]]:
    host, port = ollama_server.url.removeprefix("http://").split(":")
    sock = socket.create_connection((host, int(port)), timeout=TIMEOUT)
    fp = sock.makefile("rb")
    yield sock, fp
    fp.close()
    sock.close()


def _assert_valid_show(answer: Answer) -> None:
    assert answer.status == 200, answer
    assert answer.json()["details"], answer  # a real /api/show answer, parsed correctly


KEEP_ALIVE_ERRORS = [
    ("POST", "/api/create", b'{"model": "x", "from": "gemma3:270m"}', 501, "not supported"),
    ("POST", "/api/copy", b'{"source": "a", "destination": "b"}', 501, "not supported"),
    ("POST", "/api/push", b'{"model": "x"}', 501, "not supported"),
    ("DELETE", "/api/delete", b'{"model": "x"}', 501, "not supported"),
    ("POST", "/api/nope", b'{"model": "x"}', 404, "404 page not found"),
    ("GET", "/api/generate", b'{"model": "x"}', 405, "405 method not allowed"),
    ("PUT", "/api/chat", b'{"model": "x"}', 405, "405 method not allowed"),
    ("PATCH", "/api/nope", b'{"model": "x"}', 404, "404 page not found"),
    ("BREW", "/api/chat", b'{"model": "x"}', 405, "405 method not allowed"),
    ("POST", "/api/generate", b'{"model": DELETE', 400, "invalid JSON"),
    ("POST", "/api/show", b"", 400, "missing request body"),
    ("POST", "/api/show", b'{"model": "no-such:1b"}', 404, "not found"),
]


def test_one_connection_survives_every_error_path(
    conn: tuple[socket.socket, BinaryIO],
) -> None:
    sock, fp = conn
    for method, path, body, status, fragment in KEEP_ALIVE_ERRORS:
        sock.sendall(_request(method, path, body))
        answer = _read_answer(fp)
        assert answer.status == status, (method, path, answer)
        error = answer.json()["error"]
        assert isinstance(error, str) and fragment in error, (method, path, error)
        assert answer.headers.get("connection") != "close", (method, path, answer)
        sock.sendall(_request("POST", "/api/show", SHOW))
        _assert_valid_show(_read_answer(fp))
    # HEAD of an unknown route: a bodiless 404, still on the same connection.
    sock.sendall(_request("HEAD", "/api/nope"))
    assert _read_answer(fp, head=True).status == 404
    # A real generation last: the connection is still good for the heavy routes.
    generate = {"model": LLM_MODEL, "prompt": "Hi", "stream": False, "options": {"num_predict": 1}}
    sock.sendall(_request("POST", "/api/generate", json.dumps(generate).encode()))
    done = _read_answer(fp)
    assert done.status == 200 and done.json()["done"] is True


def test_pipelined_requests_after_unsupported_routes_are_parsed_exactly(
    conn: tuple[socket.socket, BinaryIO],
) -> None:
    """The issue's failure: the unread body of /api/delete became the next request line."""
    sock, fp = conn
    sock.sendall(
        _request("DELETE", "/api/delete", b'{"model":"x"}')
        + _request("POST", "/api/create", b'{"model":"y"}')
        + _request("POST", "/api/show", SHOW)
    )
    assert _read_answer(fp).status == 501
    assert _read_answer(fp).status == 501
    _assert_valid_show(_read_answer(fp))


def test_chunked_request_body_is_read(conn: tuple[socket.socket, BinaryIO]) -> None:
    sock, fp = conn
    half = len(SHOW) // 2
    chunked = b"".join(
        f"{len(part):x}\r\n".encode() + part + b"\r\n" for part in (SHOW[:half], SHOW[half:])
    )
    sock.sendall(_request("POST", "/api/show", chunked + b"0\r\n\r\n", Transfer_Encoding="chunked"))
    _assert_valid_show(_read_answer(fp))
    sock.sendall(_request("POST", "/api/show", SHOW))
    _assert_valid_show(_read_answer(fp))


@pytest.mark.parametrize(
    ("raw", "status", "fragment"),
    [
        (_request("POST", "/api/show", Content_Length=str(64 * 1024 * 1024)), 413, "exceeds"),
        (_request("POST", "/api/show", Content_Length="twelve"), 400, "Content-Length"),
        (_request("POST", "/api/show", Transfer_Encoding="gzip"), 501, "Transfer-Encoding"),
        (b"hello\r\n\r\n", 400, "Bad request syntax"),
        (b"GET / HTTP/1.1\r\nX-Big: " + b"a" * 70_000 + b"\r\n\r\n", 431, "too long"),
    ],
    ids=["oversized", "bad-length", "unknown-encoding", "bad-request-line", "huge-header"],
)
def test_unframeable_requests_get_json_and_a_closed_connection(
    ollama_server: RunningServer,
    conn: tuple[socket.socket, BinaryIO],
    raw: bytes,
    status: int,
    fragment: str,
) -> None:
    """When the body cannot be delimited, closing is the only safe answer; a fresh
    connection then works."""
    sock, fp = conn
    sock.sendall(raw)
    answer = _read_answer(fp)
    assert answer.status == status, answer
    assert fragment in str(answer.json()["error"])
    assert answer.headers.get("connection") == "close"
    assert fp.read() == b""  # the server closed its side
    host, port = ollama_server.url.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=TIMEOUT) as fresh:
        fresh.sendall(_request("POST", "/api/show", SHOW))
        with fresh.makefile("rb") as fresh_fp:
            _assert_valid_show(_read_answer(fresh_fp))
