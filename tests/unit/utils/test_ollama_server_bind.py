"""The LLM server binds loopback only; `--in-container` (the image's entrypoint) lifts that
for a container's first process, and only for it. Nothing here binds a socket."""

from __future__ import annotations

import pytest

from tests.utils.ollama_server import __main__ as server


@pytest.mark.parametrize("host", ["127.0.0.1", "127.0.0.2", "::1", "localhost"])
def test_loopback_hosts_are_bound_with_or_without_the_flag(host: str) -> None:
    assert server._bind_refusal(host, in_container=False) is None
    assert server._bind_refusal(host, in_container=True) is None


@pytest.mark.parametrize("pid", [None, 1])
def test_any_other_host_is_refused_without_the_flag(pid: int | None) -> None:
    refusal = server._bind_refusal("0.0.0.0", in_container=False, pid=pid)
    assert refusal == "refusing to bind 0.0.0.0: the test LLM server binds loopback only"


def test_the_flag_in_a_process_that_is_not_pid_1_is_refused_and_says_why() -> None:
    refusal = server._bind_refusal("0.0.0.0", in_container=True, pid=4242)
    assert refusal == (
        "refusing to bind 0.0.0.0: --in-container given, but this process is PID 4242, "
        "not a container's first process (the image's entrypoint)"
    )
    # this very process, on a host (a VM's /.dockerenv does not make it a container)
    assert server._bind_refusal("0.0.0.0", in_container=True) is not None


def test_the_flag_as_a_containers_first_process_binds_any_host() -> None:
    assert server._bind_refusal("0.0.0.0", in_container=True, pid=1) is None


def test_main_refuses_before_loading_any_model() -> None:
    assert server.main(["--host", "0.0.0.0", "--port", "1", "--in-container"]) == 2
