"""Ollama API through the available backend (here: the project's local LLM server)."""

from __future__ import annotations

from dataclasses import replace

from tests.utils._services.health import check, model_listed


def test_model_listed_and_one_token(ollama_service, ollama_client) -> None:
    model = ollama_service.settings.model
    names = [m.model for m in ollama_client.list().models]
    assert model_listed(model, names), names
    out = ollama_client.generate(model=model, prompt="Hi", options={"num_predict": 1})
    assert out.done and out.eval_count is not None and out.eval_count <= 1


def test_missing_model_is_reported_unhealthy(ollama_service) -> None:
    report = check(replace(ollama_service.settings, model="kzt-missing-model:1b"))
    assert not report.healthy
    assert "kzt-missing-model:1b" in report.reason and "not listed" in report.reason
