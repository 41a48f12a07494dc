"""The contract the service stack relies on: settings, server_command, is_available, cache."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

import tests.utils.ollama_server as server
from tests.utils.ollama_server import models


def test_settings_default_to_services_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for key in ("HOST", "PORT", "MODEL", "EMBED_MODEL"):
        monkeypatch.delenv(f"KAIZEN_TEST_OLLAMA_{key}", raising=False)
    env = dict(
        line.split("=", 1)
        for line in (server.REPO_ROOT / "tests/utils/services.env").read_text().splitlines()
        if line.startswith("KAIZEN_TEST_OLLAMA_")
    )
    current = server.settings()
    assert current.host == env["KAIZEN_TEST_OLLAMA_HOST"]
    assert current.port == int(env["KAIZEN_TEST_OLLAMA_PORT"])
    assert current.model == env["KAIZEN_TEST_OLLAMA_MODEL"] == server.LLM_MODEL
    assert current.embed_model == env["KAIZEN_TEST_OLLAMA_EMBED_MODEL"] == server.EMBED_MODEL


def test_environment_overrides(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("KAIZEN_TEST_OLLAMA_PORT", "12001")
    assert server.settings().port == 12001
    assert server.server_command()[-2:] == ["--port", "12001"]
    monkeypatch.setenv("KAIZEN_TEST_OLLAMA_PORT", "eleven")
    with pytest.raises(ValueError, match="KAIZEN_TEST_OLLAMA_PORT"):
        server.settings()


def test_server_command_shape() -> None:
    argv = server.server_command("127.0.0.1", 11499, model_cache="/tmp/c", embeddings=False)
    assert argv[:3] == [sys.executable, "-m", "tests.utils.ollama_server"]
    assert argv[3:] == [
        "--host",
        "127.0.0.1",
        "--port",
        "11499",
        "--model-cache",
        "/tmp/c",
        "--no-embeddings",
    ]
    assert (server.REPO_ROOT / "tests" / "utils" / "ollama_server" / "__main__.py").exists()


def test_is_available_names_a_foreign_model(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("KAIZEN_TEST_OLLAMA_MODEL", "llama3.2:1b")
    ok, reason = server.is_available()
    assert not ok
    assert "llama3.2:1b" in reason or "not installed" in reason or "missing" in reason


def test_is_available_reports_missing_engine(monkeypatch: pytest.MonkeyPatch) -> None:
    import importlib.util

    real = importlib.util.find_spec
    monkeypatch.setattr(
        importlib.util, "find_spec", lambda name, *a: None if name == "xllamacpp" else real(name)
    )
    assert server.is_available() == (False, "xllamacpp not installed (pip install -e '.[llm]')")


def test_cache_stamp_skips_rehash_only_for_the_checked_file(tmp_path: Path) -> None:
    target = tmp_path / "m.gguf"
    target.write_bytes(b"weights")
    stamp = target.with_suffix(".checked.json")
    info = target.stat()
    stamp.write_text(
        json.dumps({"sha256": "abc", "size": info.st_size, "mtime_ns": info.st_mtime_ns})
    )
    assert models._stamp_matches(stamp, target, "abc")
    assert not models._stamp_matches(stamp, target, "other")
    target.write_bytes(b"weights, changed")
    assert not models._stamp_matches(stamp, target, "abc")
    stamp.write_text("{not json")
    assert not models._stamp_matches(stamp, target, "abc")


def test_model_tags_have_ollamas_fields() -> None:
    info = models.ModelInfo(
        name="gemma3:270m",
        family="gemma3",
        parameter_size="268.10M",
        quantization_level="Q4_K_M",
        size=1,
        digest="d",
        capabilities=("completion",),
        context_length=4096,
    )
    tag = info.tag()
    assert set(tag) == {"name", "model", "modified_at", "size", "digest", "details"}
    assert tag["details"]["format"] == "gguf"  # type: ignore[index]
