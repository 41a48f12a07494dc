"""Local-process backend: real servers as child processes on the configured loopback ports.

Why: our machines have no Docker engine, yet integration tests need real servers. Each
starter prepares a fresh data directory under the state directory, starts the server in a
new session (so a terminal Ctrl-C reaches the toolkit, which stops servers by PID in order),
and bootstraps the test user and database over a private channel (unix socket).
"""

from __future__ import annotations

import contextvars
import glob
import importlib.util
import ipaddress
import os
import pwd
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from .settings import REPO_ROOT, ServiceSettings

#: Set by start() for the starter running in this thread (see start's `on_spawn`).
_ON_SPAWN: contextvars.ContextVar[Callable[[int, list[str]], None] | None] = contextvars.ContextVar(
    "kzt_on_spawn", default=None
)

SETUP_TIMEOUT_S = 60.0


class LocalUnavailable(Exception):
    """This rung does not apply here (binary missing, ...); the message says what was found."""


class LocalStartError(Exception):
    """The rung applied but the server did not come up; the message includes its log tail."""


@dataclass
class Started:
    popen: subprocess.Popen[bytes]
    base_dir: Path
    command: list[str]
    log_path: Path
    stop_signal: int = int(signal.SIGTERM)
    notes: list[str] = field(default_factory=list)

    def terminate(self) -> None:
        """Stop the child we just spawned (start failed before it was recorded)."""
        if self.popen.poll() is None:
            self.popen.send_signal(self.stop_signal)
            try:
                self.popen.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.popen.kill()
                self.popen.wait(timeout=5)

    def exited(self) -> str | None:
        """None while running, else a reason with the log tail."""
        code = self.popen.poll()
        if code is None:
            return None
        return f"{Path(self.command[0]).name} exited with code {code}; {log_tail(self.log_path)}"


def log_tail(path: Path, lines: int = 5) -> str:
    try:
        text = path.read_text(encoding="utf-8", errors="replace").strip().splitlines()
    except OSError:
        return f"no log at {path}"
    tail = " | ".join(line.strip() for line in text[-lines:] if line.strip())
    return f"log {path}: {tail}" if tail else f"log {path} is empty"


def is_root() -> bool:
    return os.geteuid() == 0


def _which(name: str, extra_dirs: list[str] = ()) -> str | None:  # type: ignore[assignment]
    found = shutil.which(name)
    if found:
        return found
    for directory in extra_dirs:
        candidate = Path(directory) / name
        if candidate.is_file() and os.access(candidate, os.X_OK):
            return str(candidate)
    return None


def _require_loopback(s: ServiceSettings) -> None:
    try:
        loopback = s.host == "localhost" or ipaddress.ip_address(s.host).is_loopback
    except ValueError:
        loopback = False
    if not loopback:
        raise LocalUnavailable(
            f"configured host {s.host} is not a loopback address; the local backend binds "
            "127.0.0.1 only"
        )


def _system_user(name: str) -> pwd.struct_passwd:
    try:
        return pwd.getpwnam(name)
    except KeyError:
        raise LocalUnavailable(
            f"running as root and there is no {name!r} system user to run the server as"
        ) from None


def _as_user(user: pwd.struct_passwd | None) -> list[str]:
    """setpriv execs in place, so the PID we record is the server's own PID."""
    if user is None:
        return []
    setpriv = _which("setpriv", ["/usr/bin", "/bin"])
    if setpriv is None:
        raise LocalUnavailable("running as root and `setpriv` (util-linux) is not on PATH")
    return [setpriv, f"--reuid={user.pw_uid}", f"--regid={user.pw_gid}", "--init-groups", "--"]


def _fresh_dir(path: Path, owner: pwd.struct_passwd | None, mode: int = 0o700) -> Path:
    if path.exists():
        shutil.rmtree(path)
    path.mkdir(parents=True, mode=mode)
    if owner is not None:
        os.chown(path, owner.pw_uid, owner.pw_gid)
    return path


def _run(cmd: list[str], what: str, log: Path) -> None:
    try:
        done = subprocess.run(
            cmd, stdin=subprocess.DEVNULL, capture_output=True, timeout=SETUP_TIMEOUT_S
        )
    except subprocess.TimeoutExpired:
        raise LocalStartError(f"{what} did not finish within {SETUP_TIMEOUT_S:.0f}s") from None
    log.write_bytes(done.stdout + done.stderr)
    if done.returncode != 0:
        raise LocalStartError(f"{what} failed with code {done.returncode}; {log_tail(log)}")


def _from_pristine(
    init: list[str], what: str, target: Path, base: Path, owner: pwd.struct_passwd | None
) -> None:
    """Initialise `target` by copying a cached, freshly initialised data directory.

    Why: initdb / mariadb-install-db cost 0.5-5 s on a busy 2-core machine while a copy costs
    ~0.1 s. The cache key is the exact init command (binary path, version-independent flags)
    plus the binary's mtime, so an upgraded server never gets a stale directory.
    """
    import hashlib

    binary = next(a for a in init if a.startswith("/") and "setpriv" not in a)
    key_src = " ".join(a for a in init if not a.startswith("--datadir") and a != "-D")
    key_src = key_src.replace(str(target), "") + f"|{os.stat(binary).st_mtime_ns}"
    key = hashlib.sha256(key_src.encode()).hexdigest()[:16]
    cache = base.parent.parent / "pristine" / f"{target.name}-{key}"
    if not cache.is_dir():
        staging = cache.with_name(cache.name + f".tmp{os.getpid()}")
        _fresh_dir(staging, owner, mode=0o700)
        _run([a.replace(str(target), str(staging)) for a in init], what, base / "init.log")
        cache.parent.mkdir(parents=True, exist_ok=True, mode=0o755)
        try:
            os.rename(staging, cache)
        except OSError:  # another process won the race: use theirs
            shutil.rmtree(staging, ignore_errors=True)
    if target.exists():
        shutil.rmtree(target)
    done = subprocess.run(
        ["cp", "-a", str(cache), str(target)],
        capture_output=True,
        text=True,
        timeout=SETUP_TIMEOUT_S,
    )
    if done.returncode != 0:
        raise LocalStartError(f"copying cached data directory {cache} failed: {done.stderr}")


def _spawn(
    cmd: list[str],
    base: Path,
    env: dict[str, str] | None = None,
    cwd: Path | None = None,
    log_name: str = "server.log",
) -> tuple[subprocess.Popen[bytes], Path]:
    log_path = base / log_name
    with open(log_path, "ab") as log:
        try:
            popen = subprocess.Popen(
                cmd,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
                env=env,
                cwd=cwd or base,
            )
        except OSError as exc:
            raise LocalStartError(f"cannot run {cmd[0]}: {exc}") from None
    hook = _ON_SPAWN.get()
    if hook is not None:  # record the PID now, before any bootstrap can be interrupted
        hook(popen.pid, cmd)
    return popen, log_path


def _poll(what: str, attempt: Callable[[], object], started: Started, timeout_s: float) -> None:
    """Retry `attempt` until it stops raising, the child dies, or the deadline passes."""
    deadline = time.monotonic() + timeout_s
    delay = 0.01
    while True:
        try:
            attempt()
            return
        except Exception as exc:
            dead = started.exited()
            if dead is not None:
                raise LocalStartError(f"{what}: {dead}") from None
            if time.monotonic() >= deadline:
                started.terminate()
                raise LocalStartError(
                    f"{what}: not ready after {timeout_s:.0f}s ({str(exc).strip()[:200]}); "
                    f"{log_tail(started.log_path)}"
                ) from None
            import threading

            threading.Event().wait(delay)
            delay = min(delay * 2, 0.2)


# -- PostgreSQL ----------------------------------------------------------------------------
def _pg_bin(name: str) -> str | None:
    dirs = sorted(glob.glob("/usr/lib/postgresql/*/bin"), reverse=True)
    return _which(name, dirs)


def start_postgresql(s: ServiceSettings, base: Path, timeout_s: float) -> Started:
    initdb, postgres = _pg_bin("initdb"), _pg_bin("postgres")
    if initdb is None or postgres is None:
        raise LocalUnavailable(
            "initdb/postgres not on PATH nor in /usr/lib/postgresql/*/bin "
            "(apt-get install postgresql)"
        )
    user = _system_user("postgres") if is_root() else None
    prefix = _as_user(user)
    data = base / "pgdata"
    _from_pristine(
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
    popen, log = _spawn(cmd, base)
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

    _poll("postgres bootstrap", bootstrap, started, timeout_s)
    return started


# -- MySQL / MariaDB -----------------------------------------------------------------------
def start_mysql(s: ServiceSettings, base: Path, timeout_s: float) -> Started:
    sbin = ["/usr/sbin", "/usr/local/sbin", "/usr/local/mysql/bin"]
    server = _which("mariadbd", sbin) or _which("mysqld", sbin)
    if server is None:
        raise LocalUnavailable(
            "mariadbd/mysqld not on PATH nor in /usr/sbin (apt-get install mariadb-server)"
        )
    version = subprocess.run(
        [server, "--version"], capture_output=True, text=True, timeout=10
    ).stdout
    mariadb = "mariadb" in version.lower() or server.endswith("mariadbd")
    user = _system_user("mysql") if is_root() else None
    user_flag = [f"--user={user.pw_name}"] if user else []
    data = base / "data"
    sock = base / "mysqld.sock"
    if mariadb:
        install = _which("mariadb-install-db", [*sbin, "/usr/bin"]) or _which(
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
    _from_pristine(init, "mysql data directory initialisation", data, base, user)
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
    popen, _ = _spawn(cmd, base, log_name="console.log")
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

    _poll("mysqld bootstrap", bootstrap, started, timeout_s)
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
    return [
        f"CREATE USER IF NOT EXISTS '{s.user}'@'%' IDENTIFIED BY '{pw}'",
        f"CREATE USER IF NOT EXISTS '{s.user}'@'localhost' IDENTIFIED BY '{pw}'",
        f"CREATE DATABASE IF NOT EXISTS `{s.database}`",
        f"GRANT ALL PRIVILEGES ON `{s.database}`.* TO '{s.user}'@'%'",
        f"GRANT ALL PRIVILEGES ON `{s.database}`.* TO '{s.user}'@'localhost'",
        f"GRANT ALL PRIVILEGES ON `kzt\\_%`.* TO '{s.user}'@'%'",
        f"GRANT ALL PRIVILEGES ON `kzt\\_%`.* TO '{s.user}'@'localhost'",
        "FLUSH PRIVILEGES",
    ]


# -- Redis ---------------------------------------------------------------------------------
def start_redis(s: ServiceSettings, base: Path, timeout_s: float) -> Started:
    server = _which("redis-server", ["/usr/bin", "/usr/local/bin"])
    if server is None:
        raise LocalUnavailable("redis-server not on PATH (apt-get install redis-server)")
    cmd = [
        server,
        "--port",
        str(s.port),
        "--bind",
        s.host,
        "--save",
        "",
        "--appendonly",
        "no",
        "--daemonize",
        "no",
        "--dir",
        str(base),
        "--protected-mode",
        "no",
    ]
    popen, log = _spawn(cmd, base)
    return Started(popen, base, cmd, log)


# -- MongoDB -------------------------------------------------------------------------------
def secantus_executable() -> str | None:
    """SecantusDB (GPL-2.0) runs as a separate process only; it is never imported."""
    beside = Path(sys.executable).parent / "secantusd-py"
    if beside.is_file() and os.access(beside, os.X_OK):
        return str(beside)
    return shutil.which("secantusd-py")


def start_mongodb(s: ServiceSettings, base: Path, timeout_s: float) -> Started:
    mongod = shutil.which("mongod")
    notes: list[str] = []
    if mongod is not None:
        data = _fresh_dir(base / "db", None)
        cmd = [
            mongod,
            "--dbpath",
            str(data),
            "--port",
            str(s.port),
            "--bind_ip",
            s.host,
            "--quiet",
            "--nounixsocket",
        ]
    else:
        secantus = secantus_executable()
        if secantus is None:
            raise LocalUnavailable(
                "mongod not on PATH and the MongoDB-wire-compatible `secantusd-py` is not "
                "installed (pip install -e '.[test]')"
            )
        config = base / "secantusd.toml"
        config.write_text("# empty: disables secantusd's config auto-discovery\n")
        cmd = [
            secantus,
            "--config",
            str(config),
            "--host",
            s.host,
            "--port",
            str(s.port),
            "--storage-path",
            str(base / "wt"),
            "--log-level",
            "WARNING",
            "--cache-size",
            "128M",
        ]
        notes.append("MongoDB-wire-compatible SecantusDB (mongod not on PATH)")
    popen, log = _spawn(cmd, base)
    return Started(popen, base, cmd, log, notes=notes)


# -- Ollama --------------------------------------------------------------------------------
LOCAL_LLM_MODULE = "tests.utils.ollama_server"


def local_llm_server_available() -> bool:
    """True once the project's server module is runnable with `python -m`."""
    try:
        spec = importlib.util.find_spec(LOCAL_LLM_MODULE)
        if spec is None:
            return False
        if spec.submodule_search_locations is not None:  # a package needs __main__
            return importlib.util.find_spec(LOCAL_LLM_MODULE + ".__main__") is not None
        return True
    except (ImportError, ValueError):
        return False


def start_ollama(s: ServiceSettings, base: Path, timeout_s: float) -> Started:
    ollama = shutil.which("ollama")
    env = dict(os.environ)
    if ollama is not None:
        env["OLLAMA_HOST"] = f"{s.host}:{s.port}"
        cmd = [ollama, "serve"]
        popen, log = _spawn(cmd, base, env=env)
        return Started(popen, base, cmd, log, notes=["ollama serve"])
    if not local_llm_server_available():
        raise LocalUnavailable(
            "`ollama` not on PATH and local LLM server not available "
            f"({LOCAL_LLM_MODULE} is not in this checkout)"
        )
    cmd = [sys.executable, "-m", LOCAL_LLM_MODULE, "--host", s.host, "--port", str(s.port)]
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO_ROOT), env.get("PYTHONPATH")]))
    popen, log = _spawn(cmd, base, env=env, cwd=REPO_ROOT)
    return Started(popen, base, cmd, log, notes=["project local LLM server"])


STARTERS: dict[str, Callable[[ServiceSettings, Path, float], Started]] = {
    "postgresql": start_postgresql,
    "redis": start_redis,
    "mysql": start_mysql,
    "mongodb": start_mongodb,
    "ollama": start_ollama,
}


def start(
    s: ServiceSettings,
    base: Path,
    timeout_s: float,
    on_spawn: Callable[[int, list[str]], None] | None = None,
) -> Started:
    """Start one service locally; raises LocalUnavailable or LocalStartError.

    `on_spawn(pid, command)` runs right after the server process exists, before its
    bootstrap, so the caller can record it while a crash would still leave it unrecorded.
    """
    _require_loopback(s)
    base.mkdir(parents=True, exist_ok=True, mode=0o755)
    token = _ON_SPAWN.set(on_spawn)
    try:
        return STARTERS[s.name](s, base, timeout_s)
    finally:
        _ON_SPAWN.reset(token)
