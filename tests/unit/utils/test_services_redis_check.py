"""The Redis health check against a scripted RESP server on loopback: which step a failure
names, how the INFO answer is read, and that one unanswered step costs only what is left
of the deadline (redis-py's default retries once made a hung listener ~26 s)."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

import pytest

from tests.utils._services.catalog import redis as redis_check
from tests.utils._services.health import Deadline, Unhealthy
from tests.utils._services.settings import load_settings

#: command name -> raw RESP answer, or None to never answer it ("INFO" as a bulk string:
#: sent as RESP3's verbatim string once HELLO 3 was answered, as Redis 7 does)
Script = dict[str, bytes | None]
#: Redis 7's answer to HELLO 3 (redis-py 8 sends it on connect, then speaks RESP3)
HELLO3 = (
    b"%7\r\n+server\r\n+redis\r\n+version\r\n+7.2.4\r\n+proto\r\n:3\r\n+id\r\n:5\r\n"
    b"+mode\r\n+standalone\r\n+role\r\n+master\r\n+modules\r\n*0\r\n"
)
INFO = b"# Server\r\nredis_version:7.2.4\r\nredis_mode:standalone\r\n"


def bulk(text: bytes) -> bytes:
    return b"$%d\r\n%s\r\n" % (len(text), text)


@dataclass
class FakeRedis:
    script: Script
    commands: list[list[bytes]] = field(default_factory=list)
    stop: threading.Event = field(default_factory=threading.Event)

    def serve(self, listener: socket.socket) -> None:
        listener.settimeout(0.05)
        while not self.stop.is_set():
            try:
                conn, _ = listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            threading.Thread(target=self._talk, args=(conn,), daemon=True).start()

    def _talk(self, conn: socket.socket) -> None:
        resp3 = False
        with conn, conn.makefile("rb") as rfile:
            while not self.stop.is_set():
                header = rfile.readline()
                if not header.startswith(b"*"):
                    return
                args = []
                for _ in range(int(header[1:])):
                    size = int(rfile.readline()[1:])
                    args.append(rfile.read(size + 2)[:-2])
                self.commands.append(args)
                name = args[0].upper().decode()
                answer = self.script.get(name, b"-ERR unknown command\r\n")
                if name == "HELLO" and "HELLO" not in self.script:
                    answer, resp3 = HELLO3, True
                elif name == "INFO" and resp3 and answer and answer.startswith(b"$"):
                    text = answer.split(b"\r\n", 1)[1][:-2]
                    answer = b"=%d\r\ntxt:%s\r\n" % (len(text) + 4, text)
                if answer is None:
                    self.stop.wait(10)  # hold the connection, say nothing
                    return
                conn.sendall(answer)


@pytest.fixture
def fake_redis() -> Iterator[Callable[[Script], tuple[FakeRedis, int]]]:
    made: list[tuple[FakeRedis, socket.socket, threading.Thread]] = []

    def start(script: Script) -> tuple[FakeRedis, int]:
        listener = socket.socket()
        listener.bind(("127.0.0.1", 0))
        listener.listen(8)
        fake = FakeRedis({"CLIENT": b"+OK\r\n", **script})
        thread = threading.Thread(target=fake.serve, args=(listener,), daemon=True)
        thread.start()
        made.append((fake, listener, thread))
        return fake, int(listener.getsockname()[1])

    yield start
    for fake, listener, thread in made:
        fake.stop.set()
        thread.join(timeout=5)
        listener.close()


def _check(port: int, seconds: float = 5.0) -> str:
    s = load_settings({"KAIZEN_TEST_REDIS_PORT": str(port)})["redis"]
    return redis_check.check(s, Deadline(seconds))


def test_ping_then_info_server_and_the_version_read_from_it(fake_redis) -> None:
    fake, port = fake_redis({"PING": b"+PONG\r\n", "INFO": bulk(INFO)})
    assert _check(port) == "Redis 7.2.4"
    asked = [c for c in fake.commands if c[0].upper() not in (b"CLIENT", b"HELLO")]
    assert asked == [[b"PING"], [b"INFO", b"server"]]


def test_a_resp2_only_server_is_read_alike(fake_redis) -> None:
    """A server without HELLO (Redis < 6, or a proxy): INFO comes as a plain bulk string."""
    _, port = fake_redis(
        {"HELLO": b"-ERR unknown command 'HELLO'\r\n", "PING": b"+PONG\r\n", "INFO": bulk(INFO)}
    )
    assert _check(port) == "Redis 7.2.4"


def test_an_info_answer_without_a_version_is_a_question_mark(fake_redis) -> None:
    _, port = fake_redis({"PING": b"+PONG\r\n", "INFO": bulk(b"# Server\r\nredis_mode:x\r\n")})
    assert _check(port) == "Redis ?"


def test_a_ping_answered_with_something_else_is_unhealthy(fake_redis) -> None:
    _, port = fake_redis({"PING": b"+NOPE\r\n"})
    with pytest.raises(Unhealthy, match=r"^PING did not answer PONG$"):
        _check(port)


def test_a_refused_ping_names_the_step_and_the_servers_error(fake_redis) -> None:
    _, port = fake_redis({"PING": b"-NOAUTH Authentication required.\r\n"})
    with pytest.raises(Unhealthy, match=r"^PING: Authentication required\.$"):
        _check(port)


@pytest.mark.parametrize(
    ("script", "step"),
    [
        ({"PING": None}, "PING"),
        ({"PING": b"+PONG\r\n", "INFO": None}, "INFO server"),
    ],
    ids=["ping", "info"],
)
def test_a_step_that_is_never_answered_is_named_within_the_deadline(
    fake_redis, script: Script, step: str
) -> None:
    _, port = fake_redis(script)
    started = time.monotonic()
    with pytest.raises(Unhealthy) as info:
        _check(port, seconds=0.5)
    assert str(info.value) == f"{step}: no answer within the 0.5s health-check deadline"
    assert time.monotonic() - started < 3  # no retry: the fake holds each request 10 s
