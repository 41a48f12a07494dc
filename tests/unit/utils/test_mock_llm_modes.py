"""MockLLMProvider beyond plain answers: scripted tool calls, the chat transcript in
function mode, async functions (calls that wait for each other), and no call log."""

from __future__ import annotations

import asyncio
import itertools
import json

import pytest

from kaizen import Kaizen
from kaizen.providers import Completion, CompletionRequest, ToolCall
from tests.utils.mock_providers import MockLLMProvider, TimeoutFault

_names = itertools.count()


def _req(prompt: str = "p", **kw: object) -> CompletionRequest:
    return CompletionRequest(model="m", prompt=prompt, **kw)  # type: ignore[arg-type]


def add(a: int, b: int) -> int:
    """Add two numbers.

    Args:
        a: The first.
        b: The second.
    """
    return a + b


def test_a_tool_call_answer_is_a_tool_calling_turn() -> None:
    call = ToolCall("add", {"a": 1, "b": 2}, "c0")
    provider = MockLLMProvider(script=[call, [call, ToolCall("add", {"a": 3, "b": 4}, "c1")]])
    first = provider.complete(_req())
    assert first.tool_calls == (call,) and first.text == "" and first.completion_tokens == 0
    assert [c.id for c in provider.complete(_req()).tool_calls] == ["c0", "c1"]


def test_an_empty_list_is_still_json() -> None:
    assert MockLLMProvider(script=[[]]).complete(_req()).text == "[]"


def test_scripted_tool_calls_drive_an_agent_tool_loop() -> None:
    provider = MockLLMProvider(
        name=f"mock-modes-{next(_names)}",
        script=[ToolCall("add", {"a": 1, "b": 2}, "c0"), {"answer": "3"}],
    )
    with provider.registered():
        agent = Kaizen().create_agent(
            "calc", {"model": "m", "provider": provider.name}, tools=[add]
        )
        result = agent.run(question="1 + 2?")
    assert result.answer == "3"
    assert [s.kind for s in result.steps] == ["model", "tool", "model"]
    assert result.steps[1].result == 3


def test_fn_mode_sees_the_transcript_and_answers_with_tool_calls() -> None:
    """The benchmark's tool caller: ask for `add` until two results are back."""

    def caller(messages: list[dict], signature: object) -> object:
        done = sum(1 for m in messages if m.get("role") == "tool")
        return ToolCall("add", {"a": done, "b": 1}, f"c{done}") if done < 2 else {"answer": "ok"}

    provider = MockLLMProvider(name=f"mock-modes-{next(_names)}", fn=caller)
    with provider.registered():
        config = {"model": "m", "provider": provider.name, "system_prompt": "be exact"}
        result = Kaizen().create_agent("calc", config, tools=[add]).run(question="go")
    assert result.answer == "ok" and [s.result for s in result.steps if s.kind == "tool"] == [1, 2]
    last = provider.calls[-1].args[0]
    assert last.messages[0] == {"role": "system", "content": "be exact"}
    assert [m["role"] for m in last.messages[1:]] == [
        "user",
        "assistant",
        "tool",
        "assistant",
        "tool",
    ]


async def test_an_async_fn_serves_async_calls() -> None:
    barrier = asyncio.Barrier(3)

    async def together(messages: list[dict], signature: object) -> str:
        await barrier.wait()  # deadlocks unless all three calls are in flight together
        return messages[-1]["content"].upper()

    provider = MockLLMProvider(fn=together)
    texts = await asyncio.wait_for(
        asyncio.gather(*(provider.acomplete(_req(f"p{i}")) for i in range(3))), 10
    )
    assert [t.text for t in texts] == ["P0", "P1", "P2"]

    async def single(messages: list[dict], signature: object) -> str:
        await asyncio.sleep(0)
        return "streamed"

    streaming = MockLLMProvider(fn=single, chunk_size=3)
    chunks = [c async for c in streaming.astream(_req())]
    assert chunks == ["str", "eam", "ed"]


def test_an_async_fn_refuses_a_sync_call_without_a_warning(
    recwarn: pytest.WarningsRecorder,
) -> None:
    async def answer(messages: list[dict], signature: object) -> str:
        return "x"

    provider = MockLLMProvider(name="mock-async-only", fn=answer)
    with pytest.raises(TypeError, match=r"awaitable on a sync call \(complete\).*arun"):
        provider.complete(_req())
    with pytest.raises(TypeError, match=r"\(stream\)"):
        list(provider.stream(_req()))
    assert [c.ok for c in provider.calls] == [False, False]
    assert not [w for w in recwarn if "never awaited" in str(w.message)]


async def test_an_injected_corrupting_fault_awaits_the_async_fn_underneath() -> None:
    from tests.utils.mock_providers import MalformedJSONFault

    async def answer(messages: list[dict], signature: object) -> dict:
        return {"answer": "a long enough answer"}

    provider = MockLLMProvider(fn=answer)
    provider.inject(MalformedJSONFault())
    with pytest.raises(ValueError):
        json.loads((await provider.acomplete(_req())).text)
    provider.inject(TimeoutFault())
    with pytest.raises(TimeoutError):
        await provider.acomplete(_req())


def test_record_calls_false_keeps_no_log_but_counts() -> None:
    provider = MockLLMProvider(record_calls=False)
    for i in range(5):
        provider.complete(_req(f"p{i}"))
    list(provider.stream(_req()))
    assert provider.calls == [] and provider.call_count == 6


def test_a_completion_answer_keeps_its_tool_calls() -> None:
    done = Completion("", "m", tool_calls=(ToolCall("add", "{}", "x"),))
    assert MockLLMProvider(script=[done]).complete(_req()).tool_calls == done.tool_calls


def test_the_script_can_be_replaced_and_read() -> None:
    provider = MockLLMProvider(script=[])
    provider.script = ["a", "b"]
    assert provider.complete(_req()).text == "a"
    assert provider.script == ["b"]
    provider.script = ["c"]
    assert provider.complete(_req()).text == "c" and provider.script == []
    with pytest.raises(ValueError, match="cannot replace"):
        MockLLMProvider(fn=lambda m, s: "x").script = ["y"]


def test_fixed_usage_requests_and_factory_calls() -> None:
    provider = MockLLMProvider(name=f"mock-modes-{next(_names)}", usage=(3, 2), model="served")
    done = provider.complete(_req("many words in this prompt"))
    assert (done.prompt_tokens, done.completion_tokens, done.model) == (3, 2, "served")
    assert [r.prompt for r in provider.requests] == ["many words in this prompt"]
    assert provider.factory_calls == 0
    with provider.registered():
        k = Kaizen()
        for agent_id in ("a", "b"):
            k.create_agent(agent_id, {"model": "m", "provider": provider.name}).run(question="q")
    assert provider.factory_calls == 2
