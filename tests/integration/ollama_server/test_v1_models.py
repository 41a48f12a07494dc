"""GET /v1/models and /v1/models/{model} through the official `openai` SDK."""

from __future__ import annotations

from typing import Any

import pytest

from tests.utils.lazy_import import lazy_import
from tests.utils.ollama_server import LLM_MODEL

openai = lazy_import("openai")  # on first use: collecting stays fast


def test_the_list_names_every_model_as_ollama_lists_them(v1_client: Any, base_url: str) -> None:
    import httpx

    page = v1_client.models.list()
    native = [m["model"] for m in httpx.get(f"{base_url}/api/tags").json()["models"]]
    assert [m.id for m in page.data] == native and LLM_MODEL in native
    for model in page.data:
        assert model.object == "model" and model.owned_by == "library"
        assert isinstance(model.created, int) and model.created > 1_600_000_000


def test_retrieve_echoes_the_name_asked_for(v1_client: Any) -> None:
    model = v1_client.models.retrieve(LLM_MODEL)
    assert (model.id, model.object, model.owned_by) == (LLM_MODEL, "model", "library")
    assert v1_client.models.retrieve(LLM_MODEL.upper()).id == LLM_MODEL.upper()


def test_an_unknown_model_is_a_404_in_openais_error_shape(v1_client: Any) -> None:
    with pytest.raises(openai.NotFoundError) as info:
        v1_client.models.retrieve("no-such-model:1b")
    assert info.value.body["type"] == "not_found_error"
    assert "no-such-model:1b" in info.value.body["message"]
