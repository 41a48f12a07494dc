"""Tool-call behaviour of the local Ollama-API server (issue 12, item 3).

Twenty seeded chats (seeds 0..19) each, through real clients, on a server this module
starts on a free loopback port and stops by PID. ``python -m
tests.benchmarks.measure_tool_calls`` prints one JSON line per measurement:

- ``tool_call_share``: a first turn that asks for the tool, through the official ``ollama``
  client: how many produce a call (goal >= 90%) and how many calls validate against the
  tool's schema (must be 100%).
- ``answer_after_tool_result``: the same chat one turn later, the call made and its result
  fed back as a ``role: "tool"`` message: how many second turns answer instead of calling
  again (goal >= 80%). The grammar admits a call there as on the first turn.
- ``kaizen_answer_after_tool_result``: the same, as Kaizen's tool agent sends it (its
  signature prompt, ``format`` and message shapes from ``kaizen.agent``'s own tool run,
  sent by its Ollama provider): the step after which a run ends instead of calling until
  ``max_steps``.
"""

from __future__ import annotations

import json
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

WEATHER_TOOL: dict[str, Any] = {
    "type": "function",
    "function": {
        "name": "get_weather",
        "description": "Get the current weather for a city.",
        "parameters": {
            "type": "object",
            "properties": {
                "city": {"type": "string", "maxLength": 24},
                "unit": {"type": "string", "enum": ["celsius", "fahrenheit"]},
            },
            "required": ["city", "unit"],
        },
    },
}
ASK = "What is the weather in Paris right now? Use the get_weather tool."
CALL = {"function": {"name": "get_weather", "arguments": {"city": "Paris", "unit": "celsius"}}}
RESULT = "18 degrees celsius, sunny"
AFTER_RESULT: list[dict[str, Any]] = [
    {"role": "user", "content": ASK},
    {"role": "assistant", "content": "", "tool_calls": [CALL]},
    {"role": "tool", "tool_name": "get_weather", "content": RESULT},
]
"""The second turn: the call the first turn asks for, made, and its result fed back."""
KAIZEN_QUESTION = "What is the weather in Paris? Call the get_weather tool."
NUM_PREDICT = 64  # below the grammar's max_chars: the server raises it to fit
SEEDS = range(20)
GOALS = {"call_share": 0.9, "answer_share": 0.8}


def _options(seed: int) -> dict[str, Any]:
    return {"seed": seed, "temperature": 0.8, "num_predict": NUM_PREDICT}


def _p50(latencies: list[float]) -> float:
    return round(sorted(latencies)[len(latencies) // 2], 1)


def measure(url: str) -> dict[str, Any]:
    """The first turn: the share of asks that call, and of calls that validate."""
    import jsonschema
    import ollama

    from tests.utils.ollama_server import LLM_MODEL

    client = ollama.Client(host=url, timeout=300)
    schema = WEATHER_TOOL["function"]["parameters"]
    calls = valid = 0
    latencies: list[float] = []
    for seed in SEEDS:
        started = time.perf_counter()
        reply = client.chat(
            model=LLM_MODEL,
            messages=[{"role": "user", "content": ASK}],
            tools=[WEATHER_TOOL],
            options=_options(seed),
        )
        latencies.append((time.perf_counter() - started) * 1000)
        for call in reply.message.tool_calls or ():
            calls += 1
            try:
                jsonschema.Draft202012Validator(schema).validate(dict(call.function.arguments))
                valid += call.function.name == "get_weather"
            except jsonschema.ValidationError:
                pass
    return {
        "name": "tool_call_share",
        "prompts": len(SEEDS),
        "calls": calls,
        "call_share": calls / len(SEEDS),
        "valid_share": valid / calls if calls else None,
        "p50_ms": _p50(latencies),
    }


def measure_answers(url: str) -> dict[str, Any]:
    """The second turn, through the ``ollama`` client: the share that answers."""
    import ollama

    from tests.utils.ollama_server import LLM_MODEL

    client = ollama.Client(host=url, timeout=300)

    def turn(seed: int) -> bool:
        reply = client.chat(
            model=LLM_MODEL, messages=AFTER_RESULT, tools=[WEATHER_TOOL], options=_options(seed)
        )
        return not reply.message.tool_calls

    return _answer_row("answer_after_tool_result", turn)


def kaizen_step(
    url: str, seed: int, *, after_result: bool = True, max_tokens: int = 48
) -> tuple[Any, Any]:
    """One model step of Kaizen's tool agent (``question -> answer``, a ``get_weather``
    tool) on the server at ``url``: the provider and the request the agent's own tool run
    builds, after its first call and the tool's result (``after_result``) or before it."""
    from kaizen import Kaizen
    from kaizen.agent import _ToolRun
    from kaizen.providers.base import Completion, ToolCall
    from kaizen.tools import tool
    from kaizen.tools.loop import ToolStep
    from tests.utils.ollama_server import LLM_MODEL

    @tool
    def get_weather(city: str) -> str:
        """The current weather in a city."""
        return "18 degrees, sunny"

    config = {
        "model": LLM_MODEL,
        "base_url": url,
        "seed": seed,
        "temperature": 0.8,
        "max_tokens": max_tokens,
        "timeout": 300,
    }
    agent = Kaizen().create_agent(
        "weather", config, signature="question -> answer", tools=[get_weather]
    )
    run = _ToolRun(agent, {"question": KAIZEN_QUESTION})
    if after_result:
        call = ToolCall("get_weather", {"city": "Paris"}, "call_k41zen01")
        step = ToolStep("get_weather", {"city": "Paris"}, call.id, "18 degrees, sunny", None, 1.0)
        run.called(Completion(text="", model=LLM_MODEL, tool_calls=(call,)), 0.0, [step])
    return agent._tool_provider(), run.request()


def measure_kaizen_answers(url: str) -> dict[str, Any]:
    """The second model step of Kaizen's tool agent: the share that answers."""

    def turn(seed: int) -> bool:
        provider, request = kaizen_step(url, seed)
        return not provider.complete(request).tool_calls

    return _answer_row("kaizen_answer_after_tool_result", turn)


def _answer_row(name: str, turn: Callable[[int], bool]) -> dict[str, Any]:
    answers = 0
    latencies: list[float] = []
    for seed in SEEDS:
        started = time.perf_counter()
        answers += turn(seed)
        latencies.append((time.perf_counter() - started) * 1000)
    return {
        "name": name,
        "prompts": len(SEEDS),
        "answers": answers,
        "answer_share": answers / len(SEEDS),
        "p50_ms": _p50(latencies),
    }


def main() -> int:
    from tests.utils.ollama_server.process import start_server, stop_server

    with tempfile.TemporaryDirectory() as tmp:
        server = start_server(Path(tmp), embeddings=False)
        try:
            rows = [measure(server.url), measure_answers(server.url)]
            rows.append(measure_kaizen_answers(server.url))
        finally:
            stop_server(server)
    for row in rows:
        print(json.dumps(row))
    first, *answers = rows
    ok = first["call_share"] >= GOALS["call_share"] and first["valid_share"] == 1.0
    return 0 if ok and all(r["answer_share"] >= GOALS["answer_share"] for r in answers) else 1


if __name__ == "__main__":
    sys.exit(main())
