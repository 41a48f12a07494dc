"""Edge faults of issue 10 on real processes: the template race, hung listeners, MariaDB's
root account, credentials in output, bad settings and Ctrl-C on the CLI.

Servers run on free loopback ports in a private state directory (never the shared stack:
other runs use its template database); every wait has a deadline.
"""

from __future__ import annotations

import threading
from collections.abc import Callable

import pytest

from tests.utils._services import isolation as iso
from tests.utils._services.stack import Stack

from .conftest import free_port

#: several connections at once, each a real CREATE DATABASE attempt
_RACERS = 6
_ROUNDS = 4


# -- 6. kzt_template created by several workers at once ------------------------------------
@pytest.mark.requires_services("postgresql")  # binaries present <=> postgresql comes up
def test_template_creation_is_race_free(private_stack: Callable[..., Stack]) -> None:
    """Before the fix, 2 racers hit UniqueViolation on pg_database's unique index about 1
    run in 4; with 6 racers over 4 rounds the old code failed every time."""
    stack = private_stack(KAIZEN_TEST_POSTGRES_PORT=str(free_port()))
    s = stack.ensure(["postgresql"])["postgresql"].settings
    assert s is not None
    for _ in range(_ROUNDS):
        iso._admin_execute(
            lambda: iso._pg_admin(s), f'DROP DATABASE IF EXISTS "{iso.PG_TEMPLATE}" WITH (FORCE)'
        )
        barrier = threading.Barrier(_RACERS, timeout=30)
        errors: list[BaseException] = []

        def race(
            barrier: threading.Barrier = barrier, errors: list[BaseException] = errors
        ) -> None:
            try:
                barrier.wait()
                iso.pg_ensure_template(s)
            except BaseException as exc:  # collected: the assertion names every failure
                errors.append(exc)

        threads = [threading.Thread(target=race) for _ in range(_RACERS)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=60)
        assert not any(t.is_alive() for t in threads), "a racer did not finish within 60 s"
        assert errors == [], [f"{type(e).__name__}: {e}" for e in errors]
        conn = iso._pg_admin(s)
        try:
            with conn.cursor() as cur:
                cur.execute(
                    "SELECT count(*) FROM pg_database WHERE datname = %s", (iso.PG_TEMPLATE,)
                )
                assert cur.fetchone() == (1,)
        finally:
            conn.close()
