"""The Ollama health check against a scripted Ollama-API server (the provider tests' fake):
what it asks (a greedy one-token generation of a real prompt, so a passing check proves
the model generates) and how it reads each answer a real server may give."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import replace
from typing import Any

import pytest

from tests.unit.core.test_ollama_provider import FakeOllama, Reply, serve  # noqa: F401
from tests.utils._services.catalog import ollama
from tests.utils._services.health import Deadline, Unhealthy
from tests.utils._services.settings import load_settings

MODEL = "kzt-model:1b"
DONE = {"model": MODEL, "response": "Hi", "done": True}


def _settings(server: FakeOllama, model: str = MODEL) -> Any:
    port = server.url.rsplit(":", 1)[1]
    return replace(load_settings({"KAIZEN_TEST_OLLAMA_PORT": port})["ollama"], model=model)


def _server(
    serve: Callable[..., FakeOllama],  # noqa: F811
    *,
    tags: Reply | None = (200, {"models": [{"name": MODEL}]}),
    version: Reply | None = (200, {"version": "0.9.1"}),
    generate: Reply | None = (200, DONE),
) -> FakeOllama:
    def reply(path: str, body: dict[str, Any]) -> Reply | None:
        return {"/api/tags": tags, "/api/version": version, "/api/generate": generate}[path]

    return serve(reply)


def test_a_healthy_server_is_asked_for_one_greedy_token_of_a_real_prompt(serve) -> None:  # noqa: F811
    server = _server(serve)
    assert ollama.check(_settings(server), Deadline(5)) == "Ollama API 0.9.1"
    paths = [path for path, _ in server.requests]
    assert paths == ["/api/tags", "/api/version", "/api/generate"]
    generate = server.requests[2][1]
    # an empty or missing prompt only loads the model (Ollama answers done, response ""):
    # the check would pass without the model ever generating
    assert isinstance(generate.get("prompt"), str) and generate["prompt"].strip()
    assert generate["model"] == MODEL and generate["stream"] is False
    assert generate["options"] == {"num_predict": 1, "temperature": 0}


@pytest.mark.parametrize(
    "listing",
    [{"name": MODEL}, {"model": MODEL}, {"name": None, "model": MODEL}, {"name": "kzt-model:1b"}],
    ids=["name", "model-only", "null-name", "tagged"],
)
def test_the_model_is_found_under_name_or_model(serve, listing: dict) -> None:  # noqa: F811
    server = _server(serve, tags=(200, {"models": [{"name": "other:latest"}, listing]}))
    assert ollama.check(_settings(server), Deadline(5)).startswith("Ollama API")


def test_an_untagged_model_setting_means_latest(serve) -> None:  # noqa: F811
    server = _server(serve, tags=(200, {"models": [{"name": "kzt-model:latest"}]}))
    assert ollama.check(_settings(server, model="kzt-model"), Deadline(5)) == "Ollama API 0.9.1"


@pytest.mark.parametrize(
    ("tags", "listed"),
    [
        ({"models": [{"name": "a:1"}, {"model": "b:2"}]}, "a:1, b:2"),
        ({"models": []}, "none"),
        ({}, "none"),  # a server that lists nothing at all
    ],
    ids=["others", "empty", "no-models-key"],
)
def test_an_unlisted_model_is_named_with_what_is_listed(serve, tags: dict, listed: str) -> None:  # noqa: F811
    server = _server(serve, tags=(200, tags))
    with pytest.raises(Unhealthy) as info:
        ollama.check(_settings(server), Deadline(5))
    assert str(info.value) == (
        f"model {MODEL!r} is not listed by /api/tags (listed: {listed}); pull it or set "
        "KAIZEN_TEST_OLLAMA_MODEL"
    )
    assert [p for p, _ in server.requests] == ["/api/tags"]  # no generation attempted


def test_no_model_setting_is_never_listed(serve) -> None:  # noqa: F811
    server = _server(serve, tags=(200, {"models": [{"name": ""}]}))
    with pytest.raises(Unhealthy, match=r"^model '' is not listed"):
        ollama.check(_settings(server, model=""), Deadline(5))


@pytest.mark.parametrize(
    "version",
    [(200, {}), (404, {"error": "not found"}), (200, ["not", "an", "object"])],
    ids=["no-version-key", "no-endpoint", "not-an-object"],
)
def test_an_unknown_version_is_a_question_mark_not_a_failure(serve, version: Reply) -> None:  # noqa: F811
    server = _server(serve, version=version)
    assert ollama.check(_settings(server), Deadline(5)) == "Ollama API ?"


def test_a_listing_error_names_the_status(serve) -> None:  # noqa: F811
    server = _server(serve, tags=(500, {"error": "boom"}))
    with pytest.raises(Unhealthy, match=r"^GET /api/tags answered HTTP 500$"):
        ollama.check(_settings(server), Deadline(5))


@pytest.mark.parametrize(
    ("generate", "message"),
    [
        ((404, {"error": "model not found"}), "one-token generation answered HTTP 404: "),
        ((200, {"done": False, "response": ""}), "one-token generation returned "),
        ((200, {"done": True}), "one-token generation returned "),
    ],
    ids=["http-error", "not-done", "no-response"],
)
def test_a_generation_that_did_not_generate_is_unhealthy(
    serve,  # noqa: F811
    generate: Reply,
    message: str,
) -> None:
    server = _server(serve, generate=generate)
    with pytest.raises(Unhealthy) as info:
        ollama.check(_settings(server), Deadline(5))
    assert str(info.value).startswith(message), info.value


def test_a_server_that_stops_answering_its_listing_is_unhealthy_within_the_deadline(
    serve,  # noqa: F811
) -> None:
    server = _server(serve, tags=None)
    with pytest.raises(Unhealthy) as info:
        ollama.check(_settings(server), Deadline(0.5))
    assert str(info.value) == "GET /api/tags: no answer within the 0.5s health-check deadline"


def test_a_version_that_never_comes_costs_only_what_is_left_of_the_deadline(serve) -> None:  # noqa: F811
    """The version is decoration: unknown, not a failure, and not waited for past the
    deadline (the fake holds the request 10 s)."""
    server = _server(serve, version=None)
    started = time.monotonic()
    assert ollama.check(_settings(server), Deadline(0.5)) == "Ollama API ?"
    assert time.monotonic() - started < 5
