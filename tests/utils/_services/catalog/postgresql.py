"""PostgreSQL, whole: settings prefix, URL, usability check, container spec, local starter
and the per-test databases (template clones behind the isolation guard).

Health: `SELECT 1` as the test user on the test database, over an async connection so the
deadline holds to the millisecond. Container: the official image's POSTGRES_* contract.
Local: initdb (from a cached pristine copy) and postgres, as the postgres user when root.
"""

from __future__ import annotations

import glob
import signal
from pathlib import Path
from typing import Any
from urllib.parse import quote

from .. import isolation
from ..docker_backend import PUBLISH_HOST, ContainerSpec, image_of
from ..health import Deadline, Unhealthy, driver, first_line
from ..local import (
    LocalUnavailable,
    Started,
    as_user,
    from_pristine,
    is_root,
    poll_ready,
    spawn,
    system_user,
    which,
)
from ..settings import SecretURL, ServiceSettings
from .base import Service


def url(
    s: ServiceSettings,
    database: str | None = None,
    user: str | None = None,
    password: str | None = None,
) -> str:
    user = s.user if user is None else user
    password = s.password if password is None else password
    auth = quote(user or "", safe="")
    if password:
        auth += ":" + quote(password, safe="")
    return SecretURL(f"postgresql://{auth}@{s.host}:{s.port}/{database or s.database}")


def _pg_wait(psycopg2: Any, conn: Any, d: Deadline, step: str) -> None:
    """Drive an async psycopg2 connection until its operation is done, within the deadline.

    Why async: libpq's connect_timeout counts whole seconds (and at least 2), so a blocking
    connect cannot honour a deadline given in fractions of a second.
    """
    import select

    extensions = psycopg2.extensions
    while True:
        state = conn.poll()
        if state == extensions.POLL_OK:
            return
        wait_read = state == extensions.POLL_READ
        fd = conn.fileno()
        ready = select.select(
            [fd] if wait_read else [], [] if wait_read else [fd], [], d.left(step)
        )
        if not any(ready):
            raise Unhealthy(d.expired(step))


def check(s: ServiceSettings, d: Deadline) -> str:
    psycopg2 = driver("psycopg2", "psycopg2-binary")
    step = f"connect as {s.user} to {s.database}"
    conn = None
    try:
        conn = psycopg2.connect(
            host=s.host,
            port=s.port,
            dbname=s.database,
            user=s.user,
            password=s.password,
            options=f"-c statement_timeout={max(1, int(d.left(step) * 1000))}",
            async_=True,
        )
        _pg_wait(psycopg2, conn, d, step)
        step = "SELECT 1"
        with conn.cursor() as cur:
            cur.execute("SELECT 1, current_setting('server_version')")
            _pg_wait(psycopg2, conn, d, step)
            one, version = cur.fetchone()
        if one != 1:
            raise Unhealthy(f"SELECT 1 returned {one!r}")
        return f"PostgreSQL {version}"
    except psycopg2.Error as exc:
        raise Unhealthy(f"{step}: {first_line(exc)}") from None
    finally:
        if conn is not None:
            conn.close()


def container_spec(s: ServiceSettings) -> ContainerSpec:
    return ContainerSpec(
        "postgresql",
        image_of(s),
        5432,
        PUBLISH_HOST,
        s.port,
        environment={
            "POSTGRES_USER": s.user or "",
            "POSTGRES_PASSWORD": s.password or "",
            "POSTGRES_DB": s.database or "",
            "POSTGRES_INITDB_ARGS": "--no-sync",
        },
        command=(
            "postgres",
            "-c",
            "fsync=off",
            "-c",
            "synchronous_commit=off",
            "-c",
            "full_page_writes=off",
            "-c",
            "max_connections=200",
        ),
    )


def _pg_bin(name: str) -> str | None:
    dirs = sorted(glob.glob("/usr/lib/postgresql/*/bin"), reverse=True)
    return which(name, dirs)


def start_local(s: ServiceSettings, base: Path, timeout_s: float) -> Started:
    initdb, postgres = _pg_bin("initdb"), _pg_bin("postgres")
    if initdb is None or postgres is None:
        raise LocalUnavailable(
            "initdb/postgres not on PATH nor in /usr/lib/postgresql/*/bin "
            "(apt-get install postgresql)"
        )
    user = system_user("postgres") if is_root() else None
    prefix = as_user(user)
    data = base / "pgdata"
    from_pristine(
        [
            *prefix,
            initdb,
            "-D",
            str(data),
            "-U",
            "postgres",
            "--auth-local=trust",
            "--auth-host=scram-sha-256",
            "-E",
            "UTF8",
            "--no-sync",
            "--no-instructions",
        ],
        "initdb",
        data,
        base,
        user,
    )
    cmd = [
        *prefix,
        postgres,
        "-D",
        str(data),
        "-p",
        str(s.port),
        "-c",
        f"listen_addresses={s.host}",
        "-c",
        f"unix_socket_directories={data}",
        "-c",
        "fsync=off",
        "-c",
        "synchronous_commit=off",
        "-c",
        "full_page_writes=off",
        "-c",
        "max_connections=200",
    ]
    popen, log = spawn(cmd, base)
    # SIGINT = PostgreSQL's "fast" shutdown: SIGTERM ("smart") waits for clients to leave.
    started = Started(popen, base, cmd, log, stop_signal=int(signal.SIGINT))

    import psycopg2

    def bootstrap() -> None:
        conn = psycopg2.connect(
            host=str(data), port=s.port, user="postgres", dbname="postgres", connect_timeout=2
        )
        try:
            conn.autocommit = True
            with conn.cursor() as cur:
                cur.execute(f'CREATE ROLE "{s.user}" LOGIN CREATEDB PASSWORD %s', (s.password,))
                cur.execute(f'CREATE DATABASE "{s.database}" OWNER "{s.user}"')
        finally:
            conn.close()

    poll_ready("postgres bootstrap", bootstrap, started, timeout_s)
    return started


SERVICE = Service(
    name="postgresql",
    env_prefix="KAIZEN_TEST_POSTGRES_",
    fixture="postgres_service",
    url=url,
    check=check,
    container_spec=container_spec,
    start_local=start_local,
    create_database=isolation.pg_create_database,
    drop_database=isolation.pg_drop_database,
)
