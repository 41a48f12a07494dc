"""Agents: a signature, a validated config and a provider, run through the workflow core.

`agent.run()` executes the agent's own one-node workflow (`agent.to_workflow()`), exactly as
a user would compose it, so there is one execution path to test and to trust.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Generator, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from kaizen.errors import (
    KaizenError,
    OutputValidationError,
    SignatureValidationError,
    WorkflowExecutionError,
)
from kaizen.providers.base import Completion, CompletionRequest, Provider
from kaizen.providers.registry import get_provider, provider_factory
from kaizen.signatures import compile_signature
from kaizen.signatures.signature import COMPILED_ATTR

if TYPE_CHECKING:
    from kaizen.audit import AuditTrail
    from kaizen.config import AgentConfig
    from kaizen.signatures import CompiledSignature, Signature
    from kaizen.tools import Tool
    from kaizen.tools.loop import Step, ToolBox, ToolStep
    from kaizen.workflow import Workflow, WorkflowBuilder

DEFAULT_SIGNATURE = "question -> answer"
#: Audit event type of one tool call of a tool-using run.
TOOL_CALL = "tool_call"
META = "_meta"


@dataclass(frozen=True, slots=True)
class Usage:
    prompt_tokens: int = 0
    completion_tokens: int = 0

    @property
    def total_tokens(self) -> int:
        return self.prompt_tokens + self.completion_tokens

    def __add__(self, other: Usage) -> Usage:
        return Usage(
            self.prompt_tokens + other.prompt_tokens,
            self.completion_tokens + other.completion_tokens,
        )


@dataclass(frozen=True, slots=True)
class RunMeta:
    """What a run cost: summed over every attempt the agent needed."""

    usage: Usage
    raw_output: str
    attempts: int
    model: str
    steps: tuple[Step, ...] = ()


@dataclass(frozen=True, slots=True)
class AgentResult:
    """The one result type of `run` and `arun`: validated outputs plus usage and timing.

    Output fields read as items or attributes: `result["answer"]` or `result.answer`.
    """

    agent_id: str
    outputs: Mapping[str, Any]
    usage: Usage
    duration_ms: float
    run_id: str
    raw_output: str
    attempts: int
    model: str
    steps: tuple[Step, ...] = ()
    """Tool agents: every model call and tool call, in order (ModelStep / ToolStep)."""

    def __getitem__(self, name: str) -> Any:
        return self.outputs[name]

    def __getattr__(self, name: str) -> Any:
        try:
            return self.outputs[name]
        except KeyError:
            raise AttributeError(
                f"{type(self).__name__} has no attribute or output {name!r} "
                f"(outputs: {', '.join(self.outputs)})"
            ) from None

    @property
    def timing(self) -> dict[str, float]:
        return {"duration_ms": self.duration_ms}


class Agent:
    """An LLM-backed callable with a typed signature. Create it with `Kaizen.create_agent`."""

    __slots__ = (
        "_audit",
        "_provider",
        "_toolbox",
        "_workflow",
        "agent_id",
        "compiled",
        "config",
        "signature",
    )

    def __init__(
        self,
        agent_id: str,
        config: AgentConfig,
        signature: type[Signature] | str | None = None,
        tools: Sequence[Tool | Callable[..., Any]] | None = None,
        audit: Callable[[], AuditTrail | None] | None = None,
    ) -> None:
        """`audit` returns the trail attached now (a framework may attach one later)."""
        provider_factory(config.provider)  # fail now, not at the first run, on a bad name
        self._audit = audit
        self._toolbox: ToolBox | None = None
        if tools:  # kaizen.tools only loads for agents that have tools
            from kaizen.tools import as_tool
            from kaizen.tools.loop import ToolBox

            self._toolbox = ToolBox([as_tool(t) for t in tools])
        self.agent_id = agent_id
        self.config = config
        if signature is None:
            signature = DEFAULT_SIGNATURE
        self.signature = signature
        # compile_signature's cached read, inlined (agents are made by the thousand); a
        # string, or a class not compiled yet, takes the call (which validates).
        compiled = getattr(signature, COMPILED_ATTR, None) if signature.__class__ is type else None
        if compiled is None or compiled.signature is not signature:
            compiled = compile_signature(signature)
        self.compiled: CompiledSignature = compiled
        self._provider: Provider | None = None
        self._workflow: Workflow | None = None

    def __repr__(self) -> str:
        return (
            f"Agent({self.agent_id!r}, provider={self.config.provider!r}, "
            f"model={self.config.model!r}, signature={self.compiled.name!r})"
        )

    @property
    def tools(self) -> tuple[Tool, ...]:
        return tuple(self._toolbox.tools.values()) if self._toolbox else ()

    @property
    def output_names(self) -> tuple[str, ...]:
        return tuple(field.name for field in self.compiled.outputs)

    @property
    def provider(self) -> Provider:
        """Created on first use, so a thousand idle agents hold no clients."""
        if self._provider is None:
            self._provider = get_provider(self.config)
        return self._provider

    # -- composition -----------------------------------------------------------------------

    def to_workflow(self) -> WorkflowBuilder:
        """A builder holding this agent as an `LLMAgentNode` whose id is the agent id."""
        from kaizen.workflow import WorkflowBuilder

        builder = WorkflowBuilder(name=f"agent:{self.agent_id}")
        builder.add_node("LLMAgentNode", self.agent_id, {"agent": self})
        return builder

    def _built(self) -> Workflow:
        if self._workflow is None:
            self._workflow = self.to_workflow().build()
        return self._workflow

    # -- running ---------------------------------------------------------------------------

    def run(self, **inputs: Any) -> AgentResult:
        from kaizen.workflow.runtime import LocalRuntime

        started = time.perf_counter()
        try:
            results, run_id = LocalRuntime().execute(self._built(), {self.agent_id: inputs})
        except WorkflowExecutionError as exc:
            error = _unwrap(exc)
            raise error from error.__cause__  # `from exc` would overwrite its cause
        return self._result(results[self.agent_id], run_id, started)

    async def arun(self, **inputs: Any) -> AgentResult:
        from kaizen.workflow.runtime import AsyncLocalRuntime

        started = time.perf_counter()
        try:
            results, run_id = await AsyncLocalRuntime().execute(
                self._built(), {self.agent_id: inputs}
            )
        except WorkflowExecutionError as exc:
            error = _unwrap(exc)
            raise error from error.__cause__  # `from exc` would overwrite its cause
        return self._result(results[self.agent_id], run_id, started)

    def stream(self, **inputs: Any) -> Iterator[Any]:
        """Raw text chunks as the model produces them (unvalidated; use `run` for outputs).

        A tool agent yields its tool events instead of dropping its tools: each `ToolStep`
        as that call finishes, then the final answer's text (one chunk: the model may ask
        for a tool on any turn, so a turn is complete before it is known to be the answer).
        """
        if self._toolbox is not None:
            yield from self._tool_stream(inputs)
            return
        values = self.compiled.validate_inputs(inputs)
        yield from self.provider.stream(self._request(self.compiled.render_prompt(values), 0))

    def _tool_stream(self, inputs: Mapping[str, Any]) -> Iterator[Any]:
        outputs = yield from self._tool_loop(_ToolRun(self, inputs))
        yield outputs[META].raw_output

    def _result(self, output: dict[str, Any], run_id: str, started: float) -> AgentResult:
        meta: RunMeta = output[META]
        return AgentResult(
            agent_id=self.agent_id,
            outputs={k: v for k, v in output.items() if k != META},
            usage=meta.usage,
            duration_ms=(time.perf_counter() - started) * 1000,
            run_id=run_id,
            raw_output=meta.raw_output,
            attempts=meta.attempts,
            model=meta.model,
            steps=meta.steps,
        )

    def _request(self, prompt: str, attempt: int) -> CompletionRequest:
        cfg = self.config
        return CompletionRequest(
            model=cfg.model,
            prompt=prompt,
            system=cfg.system_prompt,
            format=self.compiled.output_schema,
            temperature=cfg.temperature,
            max_tokens=cfg.max_tokens,
            # A retry with the same seed would reproduce the same bad output.
            seed=None if cfg.seed is None else cfg.seed + attempt,
            timeout=cfg.timeout,
        )

    def _accept(
        self,
        completion: Completion,
        usage: Usage,
        attempts: list[Any],
        steps: tuple[Step, ...] = (),
    ) -> dict[str, Any] | None:
        try:
            outputs = self.compiled.parse_output(completion.text)
        except SignatureValidationError as exc:
            attempts.append((completion.text, exc))
            return None
        meta = RunMeta(usage, completion.text, len(attempts) + 1, completion.model, steps)
        outputs[META] = meta
        return outputs

    def _invoke(self, inputs: Mapping[str, Any]) -> dict[str, Any]:
        """The node body: validate inputs, call the provider, validate outputs, retry."""
        if self._toolbox is not None:
            return self._tool_run(inputs)
        prompt = self.compiled.render_prompt(inputs)  # validates the inputs too
        provider = self.provider
        usage, attempts = Usage(), []  # type: ignore[var-annotated]
        for attempt in range(self.config.max_retries + 1):
            completion = provider.complete(self._request(prompt, attempt))
            usage += Usage(completion.prompt_tokens, completion.completion_tokens)
            accepted = self._accept(completion, usage, attempts)
            if accepted is not None:
                return accepted
        raise OutputValidationError(self.agent_id, attempts)

    async def _ainvoke(self, inputs: Mapping[str, Any]) -> dict[str, Any]:
        if self._toolbox is not None:
            return await self._atool_run(inputs)
        prompt = self.compiled.render_prompt(inputs)  # validates the inputs too
        provider = self.provider
        usage, attempts = Usage(), []  # type: ignore[var-annotated]
        for attempt in range(self.config.max_retries + 1):
            completion = await provider.acomplete(self._request(prompt, attempt))
            usage += Usage(completion.prompt_tokens, completion.completion_tokens)
            accepted = self._accept(completion, usage, attempts)
            if accepted is not None:
                return accepted
        raise OutputValidationError(self.agent_id, attempts)

    # -- the tool loop (kaizen.tools.loop): sync and async share _ToolRun ----------------------

    def _tool_provider(self) -> Provider:
        """The provider, if it speaks the tool API: tools are never accepted and ignored."""
        provider = self.provider
        if not getattr(provider, "supports_tools", False):
            from kaizen.errors import ConfigurationError

            raise ConfigurationError(
                "provider",
                f"agent {self.agent_id!r} has tools but provider {self.config.provider!r} "
                "does not support tool calls (no `supports_tools`); use a provider that does",
            )
        return provider

    def _tool_run(self, inputs: Mapping[str, Any]) -> dict[str, Any]:
        loop = self._tool_loop(_ToolRun(self, inputs))
        while True:
            try:
                next(loop)
            except StopIteration as done:
                return done.value

    def _tool_loop(self, run: _ToolRun) -> Generator[ToolStep, None, dict[str, Any]]:
        """The sync loop; yields each ToolStep as it finishes, returns the outputs."""
        provider, toolbox = self._tool_provider(), run.toolbox
        for _ in range(self.config.max_steps):
            started = time.perf_counter()
            completion = provider.complete(run.request())
            model_ms = (time.perf_counter() - started) * 1000  # before the tools run
            if completion.tool_calls:
                steps = toolbox.run(completion.tool_calls)
                run.called(completion, model_ms, steps)
                if (trail := run.trail()) is not None:
                    for entry in run.audit_entries(steps):
                        trail.record(TOOL_CALL, **entry)
                yield from steps
                continue
            outputs = run.answered(completion, model_ms)
            if outputs is not None:
                return outputs
        raise run.limit()

    async def _atool_run(self, inputs: Mapping[str, Any]) -> dict[str, Any]:
        run = _ToolRun(self, inputs)
        provider, toolbox = self._tool_provider(), run.toolbox
        for _ in range(self.config.max_steps):
            started = time.perf_counter()
            completion = await provider.acomplete(run.request())
            model_ms = (time.perf_counter() - started) * 1000  # before the tools run
            if completion.tool_calls:
                steps = await toolbox.arun(completion.tool_calls)
                run.called(completion, model_ms, steps)
                if (trail := run.trail()) is not None:
                    for entry in run.audit_entries(steps):
                        await trail.arecord(TOOL_CALL, **entry)
                continue
            outputs = run.answered(completion, model_ms)
            if outputs is not None:
                return outputs
        raise run.limit()


class _ToolRun:
    """One tool-using run's transcript, steps and usage; the loop itself is in Agent."""

    __slots__ = ("agent", "attempts", "messages", "prompt", "steps", "toolbox", "usage")

    def __init__(self, agent: Agent, inputs: Mapping[str, Any]) -> None:
        assert agent._toolbox is not None
        self.agent = agent
        self.toolbox = agent._toolbox
        self.prompt = agent.compiled.render_prompt(inputs)  # validates the inputs too
        self.messages: list[dict[str, Any]] = []
        if agent.config.system_prompt:
            self.messages.append({"role": "system", "content": agent.config.system_prompt})
        self.messages.append({"role": "user", "content": self.prompt})
        self.steps: list[Step] = []
        self.attempts: list[Any] = []
        self.usage = Usage()

    def request(self) -> CompletionRequest:
        from dataclasses import replace

        base = self.agent._request(self.prompt, len(self.attempts))
        return replace(base, messages=tuple(self.messages), tools=self.toolbox.schemas)

    def _model(self, completion: Completion, model_ms: float) -> None:
        from kaizen.tools.loop import model_step

        self.usage += Usage(completion.prompt_tokens, completion.completion_tokens)
        self.steps.append(model_step(completion, model_ms))

    def called(self, completion: Completion, model_ms: float, results: Sequence[Any]) -> None:
        """A model step (its own time, not its tools') and the tool steps it asked for."""
        from kaizen.tools.loop import assistant_message, tool_message

        self._model(completion, model_ms)
        self.messages.append(assistant_message(completion))
        for step in results:
            self.steps.append(step)
            self.messages.append(tool_message(step))

    def answered(self, completion: Completion, model_ms: float) -> dict[str, Any] | None:
        """The final answer parsed by the signature; None (and a correction) to go again."""
        self._model(completion, model_ms)
        agent = self.agent
        outputs = agent._accept(completion, self.usage, self.attempts, tuple(self.steps))
        if outputs is not None:
            return outputs
        if len(self.attempts) > agent.config.max_retries:
            raise OutputValidationError(agent.agent_id, self.attempts)
        self.messages.append({"role": "assistant", "content": completion.text})
        self.messages.append(
            {
                "role": "user",
                "content": f"That answer does not fit the required format "
                f"({self.attempts[-1][1]}). Reply with the JSON object only.",
            }
        )
        return None

    def trail(self) -> AuditTrail | None:
        source = self.agent._audit
        return source() if source is not None else None

    def audit_entries(self, steps: Sequence[ToolStep]) -> list[dict[str, Any]]:
        """One audit entry per tool call: what ran, with which arguments, and how it ended."""
        from kaizen.tools import render_result

        entries = []
        for step in steps:
            payload: dict[str, Any] = {
                "arguments": step.arguments,
                "call_id": step.call_id,
                "duration_ms": round(step.duration_ms, 3),
            }
            if step.ok:
                payload["result"] = render_result(step.result)[:2000]
            else:
                payload["error"] = str(step.error)
            entries.append(
                {
                    "actor": self.agent.agent_id,
                    "action": step.name,
                    "outcome": "ok" if step.ok else "error",
                    "payload": payload,
                }
            )
        return entries

    def limit(self) -> Exception:
        from kaizen.tools.loop import ToolLoopLimitError

        config = self.agent.config
        return ToolLoopLimitError(self.agent.agent_id, config.max_steps, self.messages, self.steps)


def _unwrap(exc: WorkflowExecutionError) -> BaseException:
    """An agent's workflow has one node: surface its typed error, not the wrapper.

    Callers re-raise it `from` its own `__cause__`: `from exc` would replace that cause
    (e.g. the transport error behind a ProviderConnectionError) with the wrapper."""
    (error,) = exc.errors.values()
    cause = error.__cause__
    return cause if isinstance(cause, KaizenError) else error
