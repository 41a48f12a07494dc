"""Tool-call share of the local Ollama-API server (issue 12, item 3).

Twenty seeded chats (seeds 0..19) that ask for a tool, through the official ``ollama``
client: how many produce a call (goal >= 90%) and how many calls validate against the
tool's schema (must be 100%). Starts its own server on a free loopback port and stops it
by PID. ``python -m tests.benchmarks.measure_tool_calls`` prints one JSON line.
"""

from __future__ import annotations

import json
import sys
import tempfile
import time
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
NUM_PREDICT = 64  # below the grammar's max_chars: the server raises it to fit
SEEDS = range(20)


def measure(url: str) -> dict[str, Any]:
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
            options={"seed": seed, "temperature": 0.8, "num_predict": NUM_PREDICT},
        )
        latencies.append((time.perf_counter() - started) * 1000)
        for call in reply.message.tool_calls or ():
            calls += 1
            try:
                jsonschema.Draft202012Validator(schema).validate(dict(call.function.arguments))
                valid += call.function.name == "get_weather"
            except jsonschema.ValidationError:
                pass
    latencies.sort()
    return {
        "name": "tool_call_share",
        "prompts": len(SEEDS),
        "calls": calls,
        "call_share": calls / len(SEEDS),
        "valid_share": valid / calls if calls else None,
        "p50_ms": round(latencies[len(latencies) // 2], 1),
    }


def main() -> int:
    from tests.utils.ollama_server.process import start_server, stop_server

    with tempfile.TemporaryDirectory() as tmp:
        server = start_server(Path(tmp), embeddings=False)
        try:
            row = measure(server.url)
        finally:
            stop_server(server)
    print(json.dumps(row))
    return 0 if row["call_share"] >= 0.9 and row["valid_share"] == 1.0 else 1


if __name__ == "__main__":
    sys.exit(main())
