"""Naming a port's holder (the listener's owner, not a child caught between fork and exec),
and picking a free loopback port."""

from __future__ import annotations

import os
import socket

from tests.utils._services.ports import find_port_holder, free_port


def test_a_forked_child_holding_the_listener_is_not_named_as_the_holder() -> None:
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(1)
    port = listener.getsockname()[1]
    release_r, release_w = os.pipe()
    child = os.fork()
    if child == 0:  # as a subprocess between fork and exec: every descriptor copied
        os.read(release_r, 1)
        os._exit(0)
    try:
        holder = find_port_holder(port)
        assert holder is not None and holder.pid == os.getpid(), holder
    finally:
        os.write(release_w, b"x")
        os.waitpid(child, 0)
        for fd in (release_r, release_w):
            os.close(fd)
        listener.close()


def test_a_free_port_has_no_holder() -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    assert find_port_holder(port) is None


def test_free_port_is_a_loopback_port_nothing_listens_on() -> None:
    port = free_port()
    assert 1024 <= port <= 65535
    assert find_port_holder(port) is None
    with socket.socket() as probe:
        assert probe.connect_ex(("127.0.0.1", port)) != 0  # refused: nobody is there
    with socket.socket() as taker:
        taker.bind(("127.0.0.1", port))  # and it can be taken
