"""`import kaizen` stays cheap: public names load on first access, heavy deps never load
until a provider needs them. Checked in fresh interpreters (this one has imported all)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

import kaizen

REPO = Path(__file__).resolve().parents[3]
HEAVY = ("ollama", "httpx", "pydantic", "kaizen.workflow", "kaizen.signatures", "kaizen.agent")


def run_python(code: str) -> dict[str, object]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYTEST")}
    proc = subprocess.run(
        [sys.executable, "-c", code], cwd=REPO, env=env, capture_output=True, text=True, timeout=60
    )
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout.strip().splitlines()[-1])


PROBE = "import json, sys\n{body}\nprint(json.dumps({{m: m in sys.modules for m in {heavy!r}}}))"


def test_import_kaizen_loads_nothing_heavy() -> None:
    loaded = run_python(PROBE.format(body="import kaizen", heavy=HEAVY))
    assert loaded == dict.fromkeys(HEAVY, False)


def test_framework_and_agent_creation_stay_light() -> None:
    # Creating an ollama agent must not import the ollama client: providers load on first use.
    body = (
        "import kaizen\n"
        "k = kaizen.Kaizen()\n"
        "assert type(k).__name__ == 'Kaizen'\n"
        "k.create_agent('a', {'model': 'm'})\n"
        "assert kaizen.ConfigurationError.__module__ == 'kaizen.errors'"
    )
    loaded = run_python(PROBE.format(body=body, heavy=HEAVY))
    assert loaded["ollama"] is False and loaded["httpx"] is False and loaded["pydantic"] is False
    assert loaded["kaizen.signatures"] is True  # the agent compiled its signature


def test_public_names_resolve() -> None:
    for name in kaizen.__all__:
        assert getattr(kaizen, name) is not None, name
    from kaizen.errors import KaizenError
    from kaizen.framework import Kaizen
    from kaizen.workflow import WorkflowBuilder

    assert kaizen.Kaizen is Kaizen and kaizen.WorkflowBuilder is WorkflowBuilder
    assert kaizen.KaizenError is KaizenError


@pytest.mark.parametrize(
    "name",
    [
        "Kaizen",
        "KaizenConfig",
        "WorkflowBuilder",
        "LocalRuntime",
        "Signature",
        "KaizenError",
        "__version__",
    ],
)
def test_dir_lists_public_names(name: str) -> None:
    assert name in dir(kaizen)


def test_unknown_attribute_raises_attribute_error() -> None:
    with pytest.raises(AttributeError, match="module 'kaizen' has no attribute 'Nope'"):
        _ = kaizen.Nope  # type: ignore[attr-defined]
    assert not hasattr(kaizen, "mock_provider")
