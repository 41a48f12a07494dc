"""MongoDB, whole: settings prefix, URL, usability check (ping plus a write/read round trip
under one client-side timeout), container spec and local starter: `mongod` when on PATH,
else the MongoDB-wire-compatible SecantusDB (GPL-2.0: run as its own process, never
imported). Per-test databases are dropped through the guard (isolation).
"""

from __future__ import annotations

import os
import shutil
import sys
import time
import uuid
from pathlib import Path

from ..docker_backend import PUBLISH_HOST, ContainerSpec, image_of
from ..health import Deadline, Unhealthy, driver, first_line
from ..local import LocalUnavailable, Started, fresh_dir, spawn
from ..settings import NAME_PREFIX, ServiceSettings
from .base import Service


def url(s: ServiceSettings, database: str | None = None) -> str:
    return f"mongodb://{s.host}:{s.port}/{database or s.database}?directConnection=true"


def check(s: ServiceSettings, d: Deadline) -> str:
    pymongo = driver("pymongo", "pymongo")
    from pymongo.errors import PyMongoError

    ms = max(1, int(d.left("connect") * 1000))
    client = pymongo.MongoClient(
        url(s),
        serverSelectionTimeoutMS=ms,
        connectTimeoutMS=ms,
        socketTimeoutMS=ms,
        timeoutMS=ms,  # client-side operation timeout (CSOT): bounds every step together
        retryReads=False,
        retryWrites=False,
    )
    try:
        client.admin.command("ping")
        version = client.server_info().get("version", "?")
        collection = client[s.database or "kailash_test"][f"{NAME_PREFIX}health"]
        token = uuid.uuid4().hex
        collection.insert_one({"_id": token, "v": 1})
        doc = collection.find_one({"_id": token})
        collection.delete_one({"_id": token})
        if not doc or doc.get("v") != 1:
            raise Unhealthy(f"write/read round trip returned {doc!r}")
        return f"MongoDB {version}"
    except PyMongoError as exc:
        if d.end <= time.monotonic() or getattr(exc, "timeout", False):
            raise Unhealthy(d.expired("ping/round trip")) from None
        raise Unhealthy(f"ping/round trip: {first_line(exc)}") from None
    finally:
        client.close()


def container_spec(s: ServiceSettings) -> ContainerSpec:
    return ContainerSpec("mongodb", image_of(s), 27017, PUBLISH_HOST, s.port)


def secantus_executable() -> str | None:
    """SecantusDB (GPL-2.0) runs as a separate process only; it is never imported."""
    beside = Path(sys.executable).parent / "secantusd-py"
    if beside.is_file() and os.access(beside, os.X_OK):
        return str(beside)
    return shutil.which("secantusd-py")


def start_local(s: ServiceSettings, base: Path, timeout_s: float) -> Started:
    mongod = shutil.which("mongod")
    notes: list[str] = []
    if mongod is not None:
        data = fresh_dir(base / "db", None)
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
    popen, log = spawn(cmd, base)
    return Started(popen, base, cmd, log, notes=notes)


SERVICE = Service(
    name="mongodb",
    env_prefix="KAIZEN_TEST_MONGODB_",
    fixture="mongodb_service",
    url=url,
    check=check,
    container_spec=container_spec,
    start_local=start_local,
)
