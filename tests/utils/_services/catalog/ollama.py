"""Ollama (any server of the Ollama API), whole: settings prefix, URL, usability check (the
model is listed and a one-token generation answers), container spec (an official image
pulls its model through the API after start; the local image has it built in) and local
starter: `ollama serve` when on PATH, else the project's LLM server.
"""

from __future__ import annotations

import importlib.util
import json
import os
import shutil
import sys
from pathlib import Path

from ..docker_backend import PUBLISH_HOST, ContainerSpec, ensure_model, image_of
from ..health import (
    OLLAMA_GENERATE_TIMEOUT_S,
    Deadline,
    Unhealthy,
    driver,
    first_line,
    model_listed,
)
from ..local import LocalUnavailable, Started, spawn
from ..settings import REPO_ROOT, ServiceSettings, Settings
from .base import Service


def url(s: ServiceSettings) -> str:
    return f"http://{s.host}:{s.port}"


def check(s: ServiceSettings, d: Deadline) -> str:
    httpx = driver("httpx", "httpx")
    base = f"http://{s.host}:{s.port}"
    step = "GET /api/tags"
    try:
        with httpx.Client() as http:
            tags = http.get(f"{base}/api/tags", timeout=d.left(step))
            if tags.status_code != 200:
                raise Unhealthy(f"GET /api/tags answered HTTP {tags.status_code}")
            names = [m.get("name") or m.get("model") for m in tags.json().get("models", [])]
            if not model_listed(s.model or "", names):
                raise Unhealthy(
                    f"model {s.model!r} is not listed by /api/tags (listed: "
                    f"{', '.join(map(str, names)) or 'none'}); pull it or set "
                    "KAIZEN_TEST_OLLAMA_MODEL"
                )
            step = "GET /api/version"
            try:
                version = (
                    http.get(f"{base}/api/version", timeout=d.left(step)).json().get("version", "?")
                )
            except (httpx.HTTPError, json.JSONDecodeError, AttributeError):
                version = "?"
            # The server has answered within the deadline; a model load may take longer.
            step = "one-token generation"
            gen = http.post(
                f"{base}/api/generate",
                json={
                    "model": s.model,
                    "prompt": "Hello",
                    "stream": False,
                    "options": {"num_predict": 1, "temperature": 0},
                },
                timeout=httpx.Timeout(OLLAMA_GENERATE_TIMEOUT_S, connect=max(d.seconds, 0.1)),
            )
            if gen.status_code != 200:
                raise Unhealthy(
                    f"one-token generation answered HTTP {gen.status_code}: {gen.text[:200]}"
                )
            body = gen.json()
            if not body.get("done") or "response" not in body:
                raise Unhealthy(f"one-token generation returned {str(body)[:200]}")
            return f"Ollama API {version}"
    except httpx.TimeoutException:
        if step == "one-token generation":
            raise Unhealthy(f"{step}: no answer within {OLLAMA_GENERATE_TIMEOUT_S:.0f}s") from None
        raise Unhealthy(d.expired(step)) from None
    except httpx.HTTPError as exc:
        raise Unhealthy(f"HTTP: {first_line(exc)}") from None
    except json.JSONDecodeError as exc:
        raise Unhealthy(f"answer is not JSON: {first_line(exc)}") from None


def container_spec(s: ServiceSettings) -> ContainerSpec:
    return ContainerSpec(
        "ollama",
        image_of(s),
        11434,
        PUBLISH_HOST,
        s.port,
        environment={"OLLAMA_HOST": "0.0.0.0:11434", "OLLAMA_KEEP_ALIVE": "30m"},
        # an official ollama image pulls its models into this volume once (ensure_model)
        volumes={"kaizen-test-ollama-models": "/root/.ollama"},
    )


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


def start_local(s: ServiceSettings, base: Path, timeout_s: float) -> Started:
    ollama = shutil.which("ollama")
    env = dict(os.environ)
    if ollama is not None:
        env["OLLAMA_HOST"] = f"{s.host}:{s.port}"
        cmd = [ollama, "serve"]
        popen, log = spawn(cmd, base, env=env)
        return Started(popen, base, cmd, log, notes=["ollama serve"])
    if not local_llm_server_available():
        raise LocalUnavailable(
            "`ollama` not on PATH and local LLM server not available "
            f"({LOCAL_LLM_MODULE} is not in this checkout)"
        )
    cmd = [sys.executable, "-m", LOCAL_LLM_MODULE, "--host", s.host, "--port", str(s.port)]
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO_ROOT), env.get("PYTHONPATH")]))
    popen, log = spawn(cmd, base, env=env, cwd=REPO_ROOT)
    return Started(popen, base, cmd, log, notes=["project local LLM server"])


def start_timeout(settings: Settings) -> float:
    """A model load may take minutes on a busy machine (KAIZEN_TEST_OLLAMA_START_TIMEOUT)."""
    return settings.ollama_start_timeout_s


SERVICE = Service(
    name="ollama",
    env_prefix="KAIZEN_TEST_OLLAMA_",
    fixture="ollama_service",
    url=url,
    check=check,
    container_spec=container_spec,
    start_local=start_local,
    after_container_start=ensure_model,
    start_timeout=start_timeout,
)
