"""The toolkit's own engine and its image builds, without starting either: the record, the
ping, the image table, and the hashes that decide whether a build is skipped."""

from __future__ import annotations

import json
import os
import socket
import threading

import pytest

from tests.utils._services import catalog
from tests.utils._services.engine import Engine, EngineError, EngineRecord, ping
from tests.utils._services.identity import current_process
from tests.utils._services.imagebuild import IMAGES, LOCAL_IMAGES, context_hash


def test_ping_reports_a_missing_socket_and_a_non_docker_answer(tmp_path) -> None:
    assert ping(tmp_path / "none.sock") == f"no socket at {tmp_path / 'none.sock'}"
    path = tmp_path / "fake.sock"
    server = socket.socket(socket.AF_UNIX)
    server.bind(str(path))
    server.listen(1)

    def answer() -> None:
        conn, _ = server.accept()
        conn.recv(1024)
        conn.sendall(b"HTTP/1.0 404 Not Found\r\n\r\n")
        conn.close()

    thread = threading.Thread(target=answer, daemon=True)
    thread.start()
    try:
        assert ping(path, 2.0) == "answered 'HTTP/1.0 404 Not Found'"
    finally:
        thread.join(5)
        server.close()


def test_the_engine_record_round_trips_and_a_bad_one_names_the_fix(tmp_path) -> None:
    me = current_process()
    rec = EngineRecord("running", "1:2:abc", "now", ["dockerd"], me.pid, me)
    assert EngineRecord.from_json(rec.to_json()) == rec
    assert rec.verdict()[0].value == "same"
    engine = Engine(tmp_path, progress=lambda _t: None)
    engine.paths.record.write_text(json.dumps({"state": "running"}))
    with pytest.raises(EngineError, match="malformed engine record"):
        engine.read_record()
    engine.paths.record.write_text("{not json")
    with pytest.raises(EngineError, match="unreadable"):
        engine.read_record()


def test_stop_without_a_record_is_a_no_op(tmp_path) -> None:
    engine = Engine(tmp_path, progress=lambda _t: None)
    assert engine.stop() == "not running"
    assert engine.status()["answers"].startswith("no socket at")


def test_every_service_has_a_local_image_selected_by_its_image_setting() -> None:
    assert set(IMAGES) == set(catalog.BUILTIN)
    for name, image in IMAGES.items():
        assert image.setting == catalog.get(name).env_prefix + "IMAGE"
        assert LOCAL_IMAGES[image.setting] == image.tag and image.tag.startswith("local/")


def test_the_build_hash_follows_content_mode_and_base(tmp_path) -> None:
    (tmp_path / "Dockerfile").write_text("FROM local/debian:bookworm\n")
    script = tmp_path / "entrypoint.sh"
    script.write_text("#!/bin/sh\n")
    base = context_hash(tmp_path, "sha256:base1")
    assert context_hash(tmp_path, "sha256:base1") == base, "stable"
    assert context_hash(tmp_path, "sha256:base2") != base, "a rebuilt base rebuilds"
    os.chmod(script, 0o755)
    executable = context_hash(tmp_path, "sha256:base1")
    assert executable != base, "the mode counts"
    script.write_text("#!/bin/sh\necho\n")
    assert context_hash(tmp_path, "sha256:base1") not in (base, executable)


def test_a_staged_context_copies_sources_so_an_edit_cannot_change_it(tmp_path) -> None:
    """The context's hash is taken when it is staged: a source file shared by hard link
    would follow an edit made while the build runs, and the label would then lie."""
    import types

    from tests.utils._services import imagebuild

    engine = types.SimpleNamespace(paths=types.SimpleNamespace(root=tmp_path))
    d = imagebuild.ImageDef(
        "postgresql",
        "local/test:x",
        "KAIZEN_TEST_POSTGRES_IMAGE",
        trees={"errors.py": "tests/utils/errors.py", "tiers": "tests/utils/_tiers"},
    )
    ctx = imagebuild.stage_context(d, engine, lambda _text: None)  # type: ignore[arg-type]
    sources = {
        ctx / "Dockerfile": imagebuild.IMAGES_DIR / "postgresql" / "Dockerfile",
        ctx / "errors.py": imagebuild.REPO_ROOT / "tests/utils/errors.py",
        ctx / "tiers" / "scan.py": imagebuild.REPO_ROOT / "tests/utils/_tiers/scan.py",
    }
    for staged, source in sources.items():
        assert staged.read_bytes() == source.read_bytes()
        assert staged.stat().st_ino != source.stat().st_ino, f"{staged} is a hard link"
    assert not list(ctx.rglob("__pycache__"))
