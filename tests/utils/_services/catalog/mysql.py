"""MySQL (MariaDB), whole: settings prefix, URL, usability check, container spec (the
official mariadb image's MARIADB_* contract plus the grants init script), local starter
(root gets a random password kept beside the data, mode 0600) and per-test schemas.
"""

from __future__ import annotations

import os
import subprocess
import time
from pathlib import Path
from urllib.parse import quote

from .. import isolation
from ..docker_backend import PUBLISH_HOST, ContainerSpec, image_of
from ..health import Deadline, Unhealthy, driver, first_line
from ..local import (
    LocalUnavailable,
    Started,
    from_pristine,
    is_root,
    poll_ready,
    spawn,
    system_user,
    which,
)
from ..settings import NAME_PREFIX, SecretURL, ServiceSettings
from .base import Service


def url(s: ServiceSettings, database: str | None = None) -> str:
    auth = quote(s.user or "", safe="") + ":" + quote(s.password or "", safe="")
    return SecretURL(f"mysql://{auth}@{s.host}:{s.port}/{database or s.database}")


def check(s: ServiceSettings, d: Deadline) -> str:
    pymysql = driver("pymysql", "pymysql")
    step = f"connect as {s.user} to {s.database}"
    try:
        left = d.left(step)
        conn = pymysql.connect(
            host=s.host,
            port=s.port,
            user=s.user,
            password=s.password or "",
            database=s.database,
            connect_timeout=left,
            ssl_disabled=True,  # loopback; an SSL context alone costs ~50 ms per check
            read_timeout=left,
            write_timeout=left,
        )
    except pymysql.MySQLError as exc:
        if d.end <= time.monotonic():
            raise Unhealthy(d.expired(step)) from None
        raise Unhealthy(f"{step}: {first_line(exc)}") from None
    try:
        sock = getattr(conn, "_sock", None)  # pymysql has no public per-query timeout
        if sock is not None:
            sock.settimeout(d.left("SELECT 1"))  # what is left, not a fresh read_timeout
        with conn.cursor() as cur:
            cur.execute("SELECT 1, VERSION()")
            one, version = cur.fetchone()
        if one != 1:
            raise Unhealthy(f"SELECT 1 returned {one!r}")
        return f"MySQL {version}"
    except pymysql.MySQLError as exc:
        raise Unhealthy(f"SELECT 1: {first_line(exc)}") from None
    finally:
        conn.close()


def container_spec(s: ServiceSettings) -> ContainerSpec:
    return ContainerSpec(
        "mysql",
        image_of(s),
        3306,
        PUBLISH_HOST,
        s.port,
        environment={
            "MARIADB_DATABASE": s.database or "",
            "MARIADB_USER": s.user or "",
            "MARIADB_PASSWORD": s.password or "",
            "MARIADB_RANDOM_ROOT_PASSWORD": "yes",
            "MARIADB_INITDB_SKIP_TZINFO": "1",
        },
        command=(
            "--innodb-flush-log-at-trx-commit=0",
            "--skip-name-resolve",
            "--max-connections=300",
        ),
        # the toolkit's per-worker schemas (kzt_*) need rights for the test user
        files={
            "/docker-entrypoint-initdb.d/10-kzt-grants.sh": "tests/utils/compose/mysql-grants.sh"
        },
    )


def start_local(s: ServiceSettings, base: Path, timeout_s: float) -> Started:
    sbin = ["/usr/sbin", "/usr/local/sbin", "/usr/local/mysql/bin"]
    server = which("mariadbd", sbin) or which("mysqld", sbin)
    if server is None:
        raise LocalUnavailable(
            "mariadbd/mysqld not on PATH nor in /usr/sbin (apt-get install mariadb-server)"
        )
    version = subprocess.run(
        [server, "--version"], capture_output=True, text=True, timeout=10
    ).stdout
    mariadb = "mariadb" in version.lower() or server.endswith("mariadbd")
    user = system_user("mysql") if is_root() else None
    user_flag = [f"--user={user.pw_name}"] if user else []
    data = base / "data"
    sock = base / "mysqld.sock"
    if mariadb:
        install = which("mariadb-install-db", [*sbin, "/usr/bin"]) or which(
            "mysql_install_db", [*sbin, "/usr/bin"]
        )
        if install is None:
            raise LocalUnavailable(
                "mariadb-install-db not on PATH (apt-get install mariadb-server)"
            )
        init = [
            install,
            "--no-defaults",
            *user_flag,
            f"--datadir={data}",
            "--auth-root-authentication-method=normal",
            "--skip-test-db",
            "--skip-name-resolve",
            "--innodb-log-file-size=8M",
        ]
    else:
        init = [server, "--no-defaults", "--initialize-insecure", *user_flag, f"--datadir={data}"]
    from_pristine(init, "mysql data directory initialisation", data, base, user)
    cmd = [
        server,
        "--no-defaults",
        *user_flag,
        f"--datadir={data}",
        f"--port={s.port}",
        f"--bind-address={s.host}",
        f"--socket={sock}",
        f"--pid-file={base / 'mysqld.pid'}",
        "--skip-name-resolve",
        f"--log-error={base / 'server.log'}",
        "--innodb-buffer-pool-size=64M",
        "--innodb-flush-log-at-trx-commit=0",
        "--innodb-log-file-size=8M",
        "--max-connections=300",
    ]
    if user is not None:  # mysqld (as mysql) writes its socket, pid file and log here
        os.chown(base, user.pw_uid, user.pw_gid)
    popen, _ = spawn(cmd, base, log_name="console.log")
    started = Started(popen, base, cmd, base / "server.log")

    import pymysql

    root_password = _root_password_file(base)

    def bootstrap() -> None:
        try:  # a fresh copy: root has no password yet
            conn = pymysql.connect(
                unix_socket=str(sock), user="root", password="", connect_timeout=2, autocommit=True
            )
        except pymysql.err.OperationalError as exc:
            if exc.args[0] != 1045:  # access denied: an earlier attempt already set it
                raise
            conn = pymysql.connect(
                unix_socket=str(sock),
                user="root",
                password=root_password.read_text(encoding="ascii"),
                connect_timeout=2,
                autocommit=True,
            )
        try:
            with conn.cursor() as cur:
                for statement in mysql_bootstrap_sql(s):
                    cur.execute(statement)
                cur.execute("SELECT User, Host FROM mysql.user WHERE User = 'root'")
                for user_name, host in cur.fetchall():  # last: the retry above relies on it
                    try:
                        cur.execute(
                            "ALTER USER %s@%s IDENTIFIED BY %s",
                            (user_name, host, root_password.read_text(encoding="ascii")),
                        )
                    except pymysql.err.OperationalError as exc:
                        if exc.args[0] != 1396:
                            raise
                        # root@<hostname>: unusable under --skip-name-resolve, so ALTER
                        # cannot see it; drop it rather than leave it password-less
                        cur.execute("DROP USER %s@%s", (user_name, host))
                cur.execute("FLUSH PRIVILEGES")
        finally:
            conn.close()

    poll_ready("mysqld bootstrap", bootstrap, started, timeout_s)
    return started


#: root's random password for a locally started MariaDB/MySQL, beside its data directory
MYSQL_ROOT_PASSWORD_FILE = "root-password"


def _root_password_file(base: Path) -> Path:
    """Write a fresh random root password (mode 0600, readable by the toolkit's user only).

    Why: mariadb-install-db leaves root without a password, so any local user could log in
    as root over TCP; the test user keeps the documented credentials from services.env.
    """
    import secrets

    path = base / MYSQL_ROOT_PASSWORD_FILE
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="ascii") as out:
        out.write(secrets.token_urlsafe(24))
    os.chmod(path, 0o600)
    return path


def mysql_bootstrap_sql(s: ServiceSettings) -> list[str]:
    """Test user and database, plus rights on the toolkit's own `kzt_` schemas."""
    pw = (s.password or "").replace("\\", "\\\\").replace("'", "\\'")
    own = NAME_PREFIX.replace("_", "\\_") + "%"  # a LIKE pattern: `_` matches itself only
    return [
        f"CREATE USER IF NOT EXISTS '{s.user}'@'%' IDENTIFIED BY '{pw}'",
        f"CREATE USER IF NOT EXISTS '{s.user}'@'localhost' IDENTIFIED BY '{pw}'",
        f"CREATE DATABASE IF NOT EXISTS `{s.database}`",
        f"GRANT ALL PRIVILEGES ON `{s.database}`.* TO '{s.user}'@'%'",
        f"GRANT ALL PRIVILEGES ON `{s.database}`.* TO '{s.user}'@'localhost'",
        f"GRANT ALL PRIVILEGES ON `{own}`.* TO '{s.user}'@'%'",
        f"GRANT ALL PRIVILEGES ON `{own}`.* TO '{s.user}'@'localhost'",
        "FLUSH PRIVILEGES",
    ]


SERVICE = Service(
    name="mysql",
    env_prefix="KAIZEN_TEST_MYSQL_",
    fixture="mysql_service",
    url=url,
    check=check,
    container_spec=container_spec,
    start_local=start_local,
    create_database=isolation.mysql_create_database,
    drop_database=isolation.mysql_drop_database,
)
