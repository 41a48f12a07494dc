"""Request parsing, option mapping and response framing of the local Ollama-API server."""

from __future__ import annotations

import io
import json
from dataclasses import replace

import pytest

from tests.utils.ollama_server import protocol
from tests.utils.ollama_server.engine import EngineError, Result, Sampling
from tests.utils.ollama_server.protocol import RequestError


def _status(exc: pytest.ExceptionInfo[RequestError]) -> int:
    return exc.value.status


@pytest.mark.parametrize(
    ("raw", "fragment"),
    [
        (b"", "missing request body"),
        (b"{bad", "invalid JSON"),
        (b"[1,2]", "must be a JSON object"),
        (b"\xff\xfe", "invalid JSON"),
    ],
)
def test_parse_body_rejects_non_objects(raw: bytes, fragment: str) -> None:
    with pytest.raises(RequestError, match=fragment) as info:
        protocol.parse_body(raw)
    assert _status(info) == 400


def test_model_is_required_and_must_be_a_string() -> None:
    with pytest.raises(RequestError, match="model is required"):
        protocol.parse_generate({"prompt": "x"})
    with pytest.raises(RequestError, match="'model' must be a string"):
        protocol.parse_generate({"model": 3, "prompt": "x"})
    assert protocol.parse_model({"name": "gemma3:270m"}) == "gemma3:270m"


def test_options_map_onto_sampling() -> None:
    sampling = protocol.parse_options(
        {
            "num_predict": 12,
            "temperature": 0,
            "top_p": 0.5,
            "top_k": 7,
            "seed": 42,
            "stop": ["\n", "END"],
            "repeat_penalty": 1.3,
            "num_ctx": 2048,  # known to Ollama, no effect here
        }
    )
    assert sampling.num_predict == 12
    assert sampling.temperature == 0.0 and isinstance(sampling.temperature, float)
    assert (sampling.top_p, sampling.top_k, sampling.seed) == (0.5, 7, 42)
    assert sampling.stop == ("\n", "END")
    assert sampling.repeat_penalty == 1.3
    request = sampling.to_request("hi", stream=False)
    assert request["max_tokens"] == 12
    assert request["seed"] == 42
    assert request["stop"] == ["\n", "END"]
    assert "grammar" not in request


def test_ollama_defaults_when_no_options() -> None:
    sampling = protocol.parse_options(None)
    assert sampling == Sampling()
    assert (sampling.temperature, sampling.top_k, sampling.top_p) == (0.8, 40, 0.9)
    assert "seed" not in sampling.to_request("hi", stream=True)
    assert sampling.to_request("hi", stream=True)["max_tokens"] == -1


@pytest.mark.parametrize(
    ("options", "fragment"),
    [
        ("hot", "'options' must be an object"),
        ({"temperature": "hot"}, "option 'temperature' must be a number"),
        ({"num_predict": 1.5}, "option 'num_predict' must be an integer"),
        ({"seed": True}, "option 'seed' must be an integer"),
        ({"stop": [1]}, "'stop' must be a list of non-empty strings"),
        ({"stop": [""]}, "'stop' must be a list of non-empty strings"),
        ({"temperature": -1}, "must be >= 0"),
        ({"num_predict": -3}, "must be >= -2"),
    ],
)
def test_bad_options_are_400_naming_the_option(options: object, fragment: str) -> None:
    with pytest.raises(RequestError, match=fragment) as info:
        protocol.parse_options(options)
    assert _status(info) == 400


def test_format_adds_grammar_and_a_limit_the_json_can_close_in() -> None:
    schema = {"type": "object", "properties": {"a": {"type": "string", "maxLength": 50}}}
    job = protocol.parse_generate(
        {"model": "m", "prompt": "p", "format": schema, "options": {"num_predict": 8}}
    )
    assert job.sampling.grammar is not None and job.sampling.grammar.admits('{"a":"x"}')
    request = job.sampling.to_request("p", stream=False)
    assert request["grammar"].startswith("%llguidance {}\nstart: root\n")  # llama.cpp's llguidance
    assert job.sampling.num_predict == len('{"a":""}') + 50  # raised: 8 tokens cannot close it
    free = protocol.parse_generate({"model": "m", "prompt": "p", "format": "json"})
    assert free.sampling.num_predict > 0  # bounded even without num_predict


@pytest.mark.parametrize(
    ("fmt", "fragment"),
    [("yaml", "'format' must be"), ({"type": "string", "pattern": "a+"}, "pattern")],
)
def test_bad_format_is_400(fmt: object, fragment: str) -> None:
    with pytest.raises(RequestError, match=fragment) as info:
        protocol.parse_generate({"model": "m", "prompt": "p", "format": fmt})
    assert _status(info) == 400


def test_generate_prompt_and_stream_defaults() -> None:
    job = protocol.parse_generate({"model": "m", "prompt": "Q", "system": "S"})
    assert job.stream is True
    assert job.prompt == "S\n\nQ"
    assert protocol.parse_generate({"model": "m", "prompt": "Q", "stream": False}).stream is False
    with pytest.raises(RequestError, match="'stream' must be true or false"):
        protocol.parse_generate({"model": "m", "prompt": "Q", "stream": "no"})
    with pytest.raises(RequestError, match="'prompt' must be a string"):
        protocol.parse_generate({"model": "m", "prompt": ["Q"]})


def test_keep_alive_accepted_in_ollama_forms_only() -> None:
    for value in (0, 300, -1, "5m", "1h30m", "0", "-1"):
        protocol.parse_generate({"model": "m", "prompt": "p", "keep_alive": value})
    with pytest.raises(RequestError, match="keep_alive"):
        protocol.parse_generate({"model": "m", "prompt": "p", "keep_alive": "soon"})
    assert protocol.parse_generate({"model": "m", "keep_alive": 0}).keep_alive_zero


@pytest.mark.parametrize(
    ("extra", "fragment"),
    [
        ({"images": ["aGk="]}, "does not support images"),
        ({"think": True}, "does not support thinking"),
        ({"suffix": "end"}, "does not support insert"),
    ],
)
def test_unsupported_features_are_400(extra: dict, fragment: str) -> None:
    with pytest.raises(RequestError, match=fragment):
        protocol.parse_generate({"model": "m", "prompt": "p", **extra})


def test_chat_becomes_a_plain_transcript_with_turn_stops() -> None:
    job = protocol.parse_chat(
        {
            "model": "m",
            "messages": [
                {"role": "system", "content": "Be brief."},
                {"role": "user", "content": "Hi"},
                {"role": "assistant", "content": "Hello."},
                {"role": "user", "content": "Name a colour."},
            ],
            "options": {"stop": ["."]},
        }
    )
    assert (
        job.prompt == "Be brief.\n\nUser: Hi\nAssistant: Hello.\nUser: Name a colour.\nAssistant:"
    )
    assert job.sampling.stop == (".", "\nUser:", "\nSystem:")


@pytest.mark.parametrize(
    ("messages", "fragment"),
    [
        ("hi", "'messages' must be a list"),
        (["hi"], r"messages\[0\] must be an object"),
        ([{"role": "robot", "content": "x"}], r"messages\[0\].role"),
        ([{"role": "user", "content": 5}], r"messages\[0\].content must be a string"),
    ],
)
def test_bad_messages_are_400_naming_the_index(messages: object, fragment: str) -> None:
    with pytest.raises(RequestError, match=fragment):
        protocol.parse_chat({"model": "m", "messages": messages})


def test_embed_inputs() -> None:
    assert protocol.parse_embed({"model": "e", "input": "a"}, legacy=False).inputs == ["a"]
    assert protocol.parse_embed({"model": "e", "input": ["a", "b"]}, legacy=False).inputs == [
        "a",
        "b",
    ]
    assert protocol.parse_embed({"model": "e", "prompt": "a"}, legacy=True).inputs == ["a"]
    with pytest.raises(RequestError, match="'input' is required"):
        protocol.parse_embed({"model": "e"}, legacy=False)
    with pytest.raises(RequestError, match="'input' must be a string or a list of strings"):
        protocol.parse_embed({"model": "e", "input": [1]}, legacy=False)


def test_not_found_uses_ollamas_wording_and_status() -> None:
    exc = protocol.model_not_found("llama9")
    assert exc.status == 404
    assert exc.message == 'model "llama9" not found, try pulling it first'


def test_final_object_carries_ollama_counters_in_nanoseconds() -> None:
    result = Result(
        text="abc",
        done_reason="length",
        prompt_tokens=5,
        eval_tokens=3,
        prompt_ns=1_000,
        eval_ns=2_000,
        total_ns=4_000,
    )
    body = protocol.final("gemma3:270m", result, chat=True, text="abc")
    assert body["message"] == {"role": "assistant", "content": "abc"}
    assert body["done"] is True and body["done_reason"] == "length"
    assert (body["prompt_eval_count"], body["eval_count"]) == (5, 3)
    assert (body["prompt_eval_duration"], body["eval_duration"], body["total_duration"]) == (
        1_000,
        2_000,
        4_000,
    )
    assert body["created_at"].endswith("Z")
    assert protocol.chunk("m", "x", chat=False) | {"created_at": ""} == {
        "model": "m",
        "created_at": "",
        "response": "x",
        "done": False,
    }


def test_ndjson_and_chunked_framing() -> None:
    line = protocol.ndjson({"response": "h\u00e9\n"})
    assert line.endswith(b"\n") and line.count(b"\n") == 1
    assert json.loads(line) == {"response": "h\u00e9\n"}
    framed = protocol.http_chunk(line)
    size, rest = framed.split(b"\r\n", 1)
    assert int(size, 16) == len(line)
    assert rest == line + b"\r\n"
    assert protocol.http_chunk(b"") == b"0\r\n\r\n"


def test_output_outside_the_grammar_fails_loud_unless_a_stop_could_cut_it() -> None:
    from tests.utils.ollama_server import engine

    fmt = {"type": "object", "properties": {"a": {"type": "string", "maxLength": 5}}}
    sampling = protocol.parse_generate({"model": "m", "prompt": "p", "format": fmt}).sampling
    engine._check_constrained(sampling, Result(text='{"a":"ok"}'))
    with pytest.raises(EngineError, match="outside the format's grammar") as info:
        engine._check_constrained(sampling, Result(text="Sure! Here is JSON"))
    assert info.value.status == 500
    engine._check_constrained(sampling, Result(text='{"a":', done_reason="cancelled"))
    cut = replace(sampling, stop=("ok",))
    engine._check_constrained(cut, Result(text='{"a":"', done_reason="stop"))
    chat = replace(sampling, stop=protocol.CHAT_STOPS)  # newline stops never match JSON
    with pytest.raises(EngineError):
        engine._check_constrained(chat, Result(text='{"a":', done_reason="stop"))


def _read(raw: bytes, length: str | None = None, encoding: str | None = None) -> bytes:
    return protocol.read_body(io.BytesIO(raw), length, encoding, limit=64)


def test_read_body_takes_exactly_the_framed_bytes() -> None:
    stream = io.BytesIO(b'{"a":1}POST / HTTP/1.1')
    assert protocol.read_body(stream, "7", None, limit=64) == b'{"a":1}'
    assert stream.read() == b"POST / HTTP/1.1"  # the next request is left intact
    assert _read(b"rest", None) == b"" and _read(b"rest", "") == b""
    chunked = b'3\r\n{"a\r\n4;ext=1\r\n":1}\r\n0\r\nX-Trailer: t\r\n\r\nNEXT'
    stream = io.BytesIO(chunked)
    assert protocol.read_body(stream, None, "Chunked", limit=64) == b'{"a":1}'
    assert stream.read() == b"NEXT"


@pytest.mark.parametrize(
    ("raw", "length", "encoding", "status", "fragment"),
    [
        (b"", "-1", None, 400, "invalid Content-Length"),
        (b"", "ten", None, 400, "invalid Content-Length"),
        (b"x" * 65, "65", None, 413, "exceeds 64 bytes"),
        (b"abc", "5", None, 400, "ended after 3 of 5 bytes"),
        (b"", None, "gzip", 501, "Transfer-Encoding 'gzip'"),
        (b"zz\r\n", None, "chunked", 400, "invalid chunk size"),
        (b"5\r\nab", None, "chunked", 400, "ended inside a chunk"),
        (b"41\r\n" + b"x" * 65 + b"\r\n0\r\n\r\n", None, "chunked", 413, "exceeds 64"),
        (b"0\r\n", None, "chunked", 400, "before its last CRLF"),
    ],
)
def test_unframeable_bodies_raise_framing_errors(
    raw: bytes, length: str | None, encoding: str | None, status: int, fragment: str
) -> None:
    with pytest.raises(protocol.FramingError, match=fragment) as info:
        _read(raw, length, encoding)
    assert info.value.status == status


def test_unknown_options_are_logged_and_ignored_as_ollama_does(
    caplog: pytest.LogCaptureFixture,
) -> None:
    with caplog.at_level("WARNING", logger=protocol.__name__):
        sampling = protocol.parse_options({"temprature": 0.1, "seed": 3})
    assert sampling == replace(Sampling(), seed=3)
    assert "invalid option provided: 'temprature'" in caplog.text


def test_developer_messages_are_the_system_turn() -> None:
    job = protocol.parse_chat(
        {
            "model": "m",
            "messages": [
                {"role": "developer", "content": "Be brief."},
                {"role": "user", "content": "Hi"},
            ],
        }
    )
    assert job.prompt == "Be brief.\n\nUser: Hi\nAssistant:"


@pytest.mark.parametrize(
    ("a", "b"),
    [
        ("gemma3:270m", "registry.ollama.ai/library/gemma3:270m"),
        ("gemma3:270m", "library/gemma3:270m"),
        ("gemma3:270m", "GEMMA3:270M"),
        ("gemma3:270m", "https://registry.ollama.ai/library/gemma3:270m"),
        ("all-minilm", "all-minilm:latest"),
    ],
)
def test_model_names_compare_as_ollama_compares_them(a: str, b: str) -> None:
    assert protocol.model_key(a) == protocol.model_key(b)


@pytest.mark.parametrize(
    ("a", "b"),
    [
        ("all-minilm", "all-minilm:l6-v2"),  # no tag means :latest, never "any tag"
        ("gemma3", "gemma3:270m"),
        ("me/gemma3:270m", "gemma3:270m"),
        ("example.com/library/gemma3:270m", "gemma3:270m"),
    ],
)
def test_model_names_that_differ_in_any_part_are_different_models(a: str, b: str) -> None:
    assert protocol.model_key(a) != protocol.model_key(b)


def test_host_with_a_port_is_not_mistaken_for_a_tag() -> None:
    assert protocol.model_key("localhost:5000/me/m") == ("localhost:5000", "me", "m", "latest")


@pytest.mark.parametrize(
    ("value", "seconds"),
    [
        (None, None),
        (0, 0.0),
        ("0", 0.0),
        ("0s", 0.0),
        (300, 300.0),
        ("5m", 300.0),
        ("1h30m", 5400.0),
        ("250ms", 0.25),
        ("-1", -1.0),
        ("-1m", -60.0),
        (1.5, 1.5),
    ],
)
def test_keep_alive_is_read_in_seconds(value: object, seconds: float | None) -> None:
    body = {"model": "m"} if value is None else {"model": "m", "keep_alive": value}
    assert protocol.parse_keep_alive(body) == seconds
    assert protocol.parse_generate(body).keep_alive_zero is (seconds == 0)


@pytest.mark.parametrize(
    ("extra", "fragment"),
    [
        ({"logprobs": True}, "'logprobs' is not supported"),
        ({"logprobs": "yes"}, "'logprobs' must be true or false"),
        ({"top_logprobs": 21}, "top_logprobs must be between 0 and 20"),
        ({"top_logprobs": -1}, "top_logprobs must be between 0 and 20"),
        ({"truncate": "no"}, "'truncate' must be true or false"),
        ({"shift": 1}, "'shift' must be true or false"),
        ({"options": {"num_ctx": 0}}, "option 'num_ctx' must be a positive integer"),
        ({"options": {"num_ctx": "big"}}, "option 'num_ctx' must be a positive integer"),
    ],
)
def test_fields_this_server_cannot_honour_are_400s_naming_them(
    extra: dict[str, object], fragment: str
) -> None:
    for parse in (
        lambda: protocol.parse_generate({"model": "m", "prompt": "p", **extra}),
        lambda: protocol.parse_chat({"model": "m", "messages": [], **extra}),
    ):
        with pytest.raises(RequestError, match=fragment) as info:
            parse()
        assert _status(info) == 400


def test_fields_ollama_ignores_or_that_change_nothing_are_accepted() -> None:
    for extra in ({"logprobs": False}, {"top_logprobs": 5}, {"truncate": False, "shift": True}):
        protocol.parse_generate({"model": "m", "prompt": "p", **extra})
    job = protocol.parse_generate({"model": "m", "prompt": "p", "options": {"num_ctx": 4096}})
    assert job.sampling.num_ctx == 4096
    assert "num_ctx" not in job.sampling.to_request("p", stream=False)


def test_generate_context_is_refused_unless_empty() -> None:
    assert protocol.parse_generate({"model": "m", "prompt": "p", "context": []}).prompt == "p"
    with pytest.raises(RequestError, match=r"'context' .* is not supported"):
        protocol.parse_generate({"model": "m", "prompt": "p", "context": [1, 2]})


def test_embed_dimensions_truncate_and_options() -> None:
    job = protocol.parse_embed(
        {"model": "e", "input": "a", "dimensions": 8, "truncate": False, "options": {"num_ctx": 9}},
        legacy=False,
    )
    assert (job.dimensions, job.truncate, job.num_ctx) == (8, False, 9)
    assert protocol.parse_embed({"model": "e", "input": "a"}, legacy=False).truncate is True
    with pytest.raises(RequestError, match="'dimensions' must be a positive integer"):
        protocol.parse_embed({"model": "e", "input": "a", "dimensions": -2}, legacy=False)
    with pytest.raises(RequestError, match="option 'temperature' must be a number"):
        protocol.parse_embed(
            {"model": "e", "input": "a", "options": {"temperature": "x"}}, legacy=False
        )


def test_truncate_dimensions_renormalises_like_ollama() -> None:
    assert protocol.truncate_dimensions([3.0, 4.0, 12.0], 2) == [0.6, 0.8]
    whole = [0.6, 0.8]
    assert protocol.truncate_dimensions(whole, 0) is whole
    assert protocol.truncate_dimensions(whole, 5) is whole  # not longer than asked: unchanged
