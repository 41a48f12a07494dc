"""Helpers for integration and e2e tests on the real stack.

```python
from tests.utils import IntegrationTestSuite

class TestMyFeature(IntegrationTestSuite):
    required_services = ["postgresql", "ollama"]

    async def test_real_workflow_execution(self):
        agent = await self.create_test_agent("test_agent", {"max_tokens": 32})
        result = await self.execute_agent_workflow(agent, {"question": "Hi?"})
        assert result.success, result.errors
```

The suite never starts a service itself: the service plugin's session fixtures do
(`tests/utils/pytest_services.py`), so a stack is started once per run and a missing service
skips with a precise reason locally and fails under CI=true / --require-services.
`ErrorSimulator` injects real faults (signals to service processes, held ports, a loopback
TCP proxy that delays or drops connections, an HTTP proxy that corrupts the LLM's answers)
and undoes each one after the test.
"""

from __future__ import annotations

import asyncio
import contextlib
import inspect
import json
import os
import signal
import socket
import threading
import time
from collections.abc import Awaitable, Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, ClassVar, TypeVar

import pytest

from kaizen.errors import SignatureValidationError, WorkflowExecutionError

if TYPE_CHECKING:
    from kaizen.agent import Agent
    from kaizen.framework import Kaizen
    from kaizen.workflow import Workflow, WorkflowBuilder

T = TypeVar("T")

__all__ = [
    "ConditionTimeout",
    "CoordinationExecutionResult",
    "ErrorSimulator",
    "IntegrationTestSuite",
    "MultiAgentCoordinationTestSuite",
    "WorkflowExecutionResult",
    "validate_workflow_execution",
    "wait_for_condition",
    "wait_for_condition_async",
]


# --- polling with a deadline ----------------------------------------------------------------


class ConditionTimeout(AssertionError):
    """`wait_for_condition` ran out of time; says what was awaited and what it last saw."""


def _describe(predicate: Callable[..., Any], message: str | None) -> str:
    return message or getattr(predicate, "__name__", repr(predicate))


def _timeout_error(
    what: str, timeout: float, polls: int, last: Any, error: Any
) -> ConditionTimeout:
    seen = f"last error {type(error).__name__}: {error}" if error else f"last value {last!r}"
    return ConditionTimeout(f"{what}: not true within {timeout:g}s ({polls} polls; {seen})")


def _check_args(timeout: float, interval: float) -> None:
    if not timeout > 0:
        raise ValueError(f"timeout must be > 0 seconds, got {timeout!r}")
    if not interval > 0:
        raise ValueError(f"interval must be > 0 seconds, got {interval!r}")


def wait_for_condition(
    predicate: Callable[[], T],
    timeout: float = 10.0,
    interval: float = 0.05,
    *,
    message: str | None = None,
    ignore: tuple[type[BaseException], ...] = (),
) -> T:
    """Poll `predicate` until it returns something truthy; return that value.

    Raises `ConditionTimeout` at the deadline (never returns after it). Exceptions listed
    in `ignore` count as "not yet" (e.g. ConnectionRefusedError while a server starts).
    """
    _check_args(timeout, interval)
    deadline = time.monotonic() + timeout
    pause = threading.Event()
    polls, last, error = 0, None, None
    while True:
        polls += 1
        try:
            last, error = predicate(), None
            if last:
                return last
        except ignore as exc:
            error = exc
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise _timeout_error(_describe(predicate, message), timeout, polls, last, error)
        pause.wait(min(interval, remaining))


async def wait_for_condition_async(
    predicate: Callable[[], T | Awaitable[T]],
    timeout: float = 10.0,
    interval: float = 0.05,
    *,
    message: str | None = None,
    ignore: tuple[type[BaseException], ...] = (),
) -> T:
    """`wait_for_condition` for the event loop; `predicate` may be sync or async."""
    _check_args(timeout, interval)
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    polls, last, error = 0, None, None
    while True:
        polls += 1
        try:
            value = predicate()
            if inspect.isawaitable(value):
                value = await asyncio.wait_for(value, max(deadline - loop.time(), 0.001))
            last, error = value, None
            if last:
                return last  # type: ignore[return-value]
        except TimeoutError as exc:
            error = exc
        except ignore as exc:
            error = exc
        remaining = deadline - loop.time()
        if remaining <= 0:
            raise _timeout_error(_describe(predicate, message), timeout, polls, last, error)
        await asyncio.sleep(min(interval, remaining))  # a poll interval, bounded by the deadline


# --- workflow results -----------------------------------------------------------------------


@dataclass(frozen=True)
class WorkflowExecutionResult:
    """One workflow run, judged node by node.

    `success` is true only if every node ran, none failed or was skipped, and every agent
    node's outputs validate against its signature.
    """

    results: Mapping[str, Mapping[str, Any]]
    run_id: str
    execution_time_ms: float
    node_status: Mapping[str, str]  # node id -> "ok" | "failed" | "skipped"
    errors: Mapping[str, str] = field(default_factory=dict)  # node id -> "Type: message"
    exceptions: Mapping[str, BaseException] = field(default_factory=dict, repr=False)
    validation_errors: Mapping[str, tuple[str, ...]] = field(default_factory=dict)

    @property
    def success(self) -> bool:
        return (
            bool(self.node_status)
            and all(status == "ok" for status in self.node_status.values())
            and not self.validation_errors
        )

    @property
    def failed_nodes(self) -> tuple[str, ...]:
        return tuple(n for n, s in self.node_status.items() if s == "failed")

    @property
    def skipped_nodes(self) -> tuple[str, ...]:
        return tuple(n for n, s in self.node_status.items() if s == "skipped")

    def outputs(self, node_id: str) -> dict[str, Any]:
        """A node's outputs without the agent bookkeeping (`_meta`)."""
        try:
            produced = self.results[node_id]
        except KeyError:
            raise KeyError(
                f"node {node_id!r} produced nothing (status: "
                f"{self.node_status.get(node_id, 'unknown node')}; nodes: "
                f"{', '.join(self.node_status)})"
            ) from None
        return {k: v for k, v in produced.items() if k != "_meta"}

    def summary(self) -> str:
        parts = [f"run {self.run_id}: {'ok' if self.success else 'FAILED'}"]
        parts += [f"{n}={s}" for n, s in self.node_status.items()]
        parts += [f"{n}: {e}" for n, e in self.errors.items()]
        parts += [f"{n} output invalid: {'; '.join(v)}" for n, v in self.validation_errors.items()]
        return ", ".join(parts)


def _validate_agent_outputs(
    workflow: Workflow, results: Mapping[str, Mapping[str, Any]]
) -> dict[str, tuple[str, ...]]:
    """Re-validate each agent node's outputs against its signature (independently of the
    agent's own check, so a node that bypassed validation is caught here)."""
    from kaizen.workflow.nodes import LLMAgentNode

    problems: dict[str, tuple[str, ...]] = {}
    for node_id, node in workflow.nodes.items():
        if not isinstance(node, LLMAgentNode) or node_id not in results:
            continue
        outputs = {k: v for k, v in results[node_id].items() if k != "_meta"}
        try:
            node.config["agent"].compiled.parse_output(outputs)
        except SignatureValidationError as exc:
            problems[node_id] = tuple(str(e) for e in exc.errors)
    return problems


def _judge(
    workflow: Workflow,
    results: Mapping[str, Mapping[str, Any]],
    run_id: str,
    started: float,
    failure: WorkflowExecutionError | None,
) -> WorkflowExecutionResult:
    errors = dict(failure.errors) if failure else {}
    skipped = set(failure.skipped) if failure else set()
    status = {
        n: "failed"
        if n in errors
        else "skipped"
        if n in skipped
        else "ok"
        if n in results
        else "skipped"
        for n in workflow.order
    }

    def text(exc: BaseException) -> str:
        cause = exc.__cause__ or exc
        return f"{type(cause).__name__}: {cause}"

    return WorkflowExecutionResult(
        results=dict(results),
        run_id=run_id,
        execution_time_ms=(time.perf_counter() - started) * 1000,
        node_status=status,
        errors={n: text(e) for n, e in errors.items()},
        exceptions=errors,
        validation_errors=_validate_agent_outputs(workflow, results),
    )


def _built(workflow: Workflow | WorkflowBuilder) -> Workflow:
    return workflow.build() if hasattr(workflow, "build") else workflow  # type: ignore[return-value]


async def execute_workflow(
    workflow: Workflow | WorkflowBuilder, parameters: Mapping[str, Mapping[str, Any]] | None = None
) -> WorkflowExecutionResult:
    """Run on the AsyncLocalRuntime; a failed node becomes `success=False`, never an
    exception the test has to catch (invalid workflows still raise at build time)."""
    from kaizen.workflow import AsyncLocalRuntime

    built = _built(workflow)
    started = time.perf_counter()
    try:
        results, run_id = await AsyncLocalRuntime().execute(built, parameters)
    except WorkflowExecutionError as exc:
        return _judge(built, exc.results, exc.run_id, started, exc)
    return _judge(built, results, run_id, started, None)


def execute_workflow_sync(
    workflow: Workflow | WorkflowBuilder, parameters: Mapping[str, Mapping[str, Any]] | None = None
) -> WorkflowExecutionResult:
    """The same judgement for the LocalRuntime."""
    from kaizen.workflow import LocalRuntime

    built = _built(workflow)
    started = time.perf_counter()
    try:
        results, run_id = LocalRuntime().execute(built, parameters)
    except WorkflowExecutionError as exc:
        return _judge(built, exc.results, exc.run_id, started, exc)
    return _judge(built, results, run_id, started, None)


def validate_workflow_execution(
    result: WorkflowExecutionResult,
    *,
    expected_nodes: Iterable[str] | None = None,
    expected_outputs: Mapping[str, Iterable[str]] | None = None,
    max_execution_time_ms: float | None = None,
    allow_failures: bool = False,
) -> WorkflowExecutionResult:
    """Assert a run is what the test expects; one AssertionError lists every problem."""
    if not isinstance(result, WorkflowExecutionResult):
        raise TypeError(f"expected a WorkflowExecutionResult, got {type(result).__name__}")
    problems: list[str] = []
    if not allow_failures and not result.success:
        problems.append(f"run failed: {result.summary()}")
    if expected_nodes is not None:
        missing = [n for n in expected_nodes if result.node_status.get(n) != "ok"]
        if missing:
            problems.append(f"nodes that did not succeed: {', '.join(missing)}")
    for node, names in (expected_outputs or {}).items():
        produced = result.results.get(node, {})
        absent = [name for name in names if name not in produced]
        if absent:
            problems.append(f"node {node!r} lacks outputs {absent} (has {sorted(produced)})")
    if max_execution_time_ms is not None and result.execution_time_ms > max_execution_time_ms:
        problems.append(
            f"took {result.execution_time_ms:.0f} ms, limit {max_execution_time_ms:.0f} ms"
        )
    if problems:
        raise AssertionError("workflow execution invalid: " + "; ".join(problems))
    return result


# --- coordination results -------------------------------------------------------------------


@dataclass(frozen=True)
class CoordinationExecutionResult:
    """A coordination pattern run: the pattern's own result, or the error that ended it."""

    pattern: str
    success: bool
    execution_time_ms: float
    result: Any = None  # kaizen.coordination.CoordinationResult
    error: BaseException | None = None

    @property
    def outputs(self) -> Mapping[str, Any]:
        return self.result.outputs if self.result is not None else {}

    @property
    def steps(self) -> tuple[Any, ...]:
        if self.result is not None:
            return tuple(self.result.steps)
        return tuple(getattr(self.error, "steps", ()) or ())

    @property
    def agents_involved(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys(step.agent_id for step in self.steps))


# --- services -------------------------------------------------------------------------------


def _must_have_services(config: pytest.Config) -> bool:
    try:
        required = bool(config.getoption("--require-services"))
    except ValueError:
        required = False
    return required or os.environ.get("CI", "").lower() == "true"


def _bring_up(request: pytest.FixtureRequest, names: Sequence[str]) -> dict[str, Any]:
    """The services through the service plugin (`tests.utils.pytest_services.require`): the
    run's one stack starts them once; unreachable means skip with the reason, or fail under
    CI=true / --require-services. Without the plugin `required_services` cannot be honoured,
    which is a usage error, never a silent pass."""
    if not names:
        return {}
    plugin = request.config.pluginmanager.get_plugin("tests.utils.pytest_services")
    if plugin is None:
        raise pytest.UsageError(
            f"{request.node.nodeid}: required_services={list(names)} needs the plugin "
            "tests.utils.pytest_services; list it in the root conftest.py pytest_plugins"
        )
    return dict(plugin.require(request.config, list(names)))


# --- the suites -----------------------------------------------------------------------------


class IntegrationTestSuite:
    """Base class for real-stack tests: no `__init__`, so pytest collects every subclass.

    Class attributes: `required_services` (names from the service stack), `kaizen_config`
    (a preset name from test_fixtures.CONFIG_PRESETS, a KaizenConfig or a mapping).
    Per test: `self.kaizen` (wired to the real Ollama endpoint and model),
    `self.services` (name -> status from the service plugin), `self.errors`
    (an `ErrorSimulator`, restored after the test), `self.ollama_base_url`,
    `self.ollama_model`. Agents created with `create_test_agent` are removed afterwards.
    """

    required_services: ClassVar[Sequence[str]] = ("ollama",)
    kaizen_config: ClassVar[Any] = "integration"

    kaizen: Kaizen
    services: dict[str, Any]
    errors: ErrorSimulator
    ollama_base_url: str
    ollama_model: str

    @pytest.fixture(autouse=True)
    def _kaizen_integration_suite(self, request: pytest.FixtureRequest) -> Iterator[None]:
        from kaizen import Kaizen
        from tests.utils import test_fixtures as tf

        self.services = _bring_up(request, list(self.required_services))
        config = self.kaizen_config
        if isinstance(config, str):
            config = tf.CONFIG_PRESETS[config]()
        self.kaizen = Kaizen(config=config)
        self.ollama_base_url = tf.ollama_base_url()
        self.ollama_model = tf.ollama_model()
        self.errors = ErrorSimulator()
        self._created_agents: list[str] = []
        try:
            yield
        finally:
            for agent_id in self._created_agents:
                if agent_id in self.kaizen:
                    self.kaizen.remove_agent(agent_id)
            self.errors.restore_all()

    def agent_config(self, config: Mapping[str, Any] | None = None) -> Any:
        """The local-Ollama agent config with `config` applied on top (validated)."""
        from tests.utils.test_fixtures import local_ollama_agent_config

        return local_ollama_agent_config(**dict(config or {}))

    async def create_test_agent(
        self,
        agent_id: str,
        config: Mapping[str, Any] | None = None,
        *,
        signature: Any = None,
    ) -> Agent:
        """An agent on the real endpoint (`config` overrides the local-Ollama defaults)."""
        agent = self.kaizen.create_agent(agent_id, self.agent_config(config), signature=signature)
        self._created_agents.append(agent_id)
        return agent

    async def execute_agent_workflow(
        self, agent: Agent, inputs: Mapping[str, Any]
    ) -> WorkflowExecutionResult:
        """Run the agent's own one-node workflow on the async runtime, judged per node."""
        return await execute_workflow(agent.to_workflow(), {agent.agent_id: dict(inputs)})

    async def execute_workflow(
        self,
        workflow: Workflow | WorkflowBuilder,
        parameters: Mapping[str, Mapping[str, Any]] | None = None,
    ) -> WorkflowExecutionResult:
        return await execute_workflow(workflow, parameters)


class MultiAgentCoordinationTestSuite(IntegrationTestSuite):
    """Adds teams and the coordination patterns of `kaizen.coordination`, on the real LLM."""

    @staticmethod
    def coordination_patterns() -> tuple[str, ...]:
        from kaizen.coordination import PATTERNS

        return tuple(PATTERNS)

    async def create_agent_team(
        self,
        team: Any,
        *,
        prefix: str = "",
        config: Mapping[str, Any] | None = None,
    ) -> list[Agent]:
        """Agents for a team: a `DataScenario`, or specs `(agent_id, signature)` /
        `{"agent_id":..., "signature":..., "config": {...}}`. Removed after the test."""
        from tests.utils.test_fixtures import SIGNATURES, DataScenario

        specs: list[tuple[str, str, Mapping[str, Any]]] = []
        if isinstance(team, DataScenario):
            specs = [(a.agent_id, a.signature_text, dict(a.overrides)) for a in team.agents]
        else:
            for spec in team:
                if isinstance(spec, Mapping):
                    specs.append((spec["agent_id"], spec["signature"], spec.get("config", {})))
                else:
                    agent_id, signature = spec
                    specs.append((agent_id, signature, {}))
        agents = []
        for agent_id, signature, overrides in specs:
            text = SIGNATURES.get(signature, signature)
            merged = {**dict(config or {}), **dict(overrides)}
            agents.append(await self.create_test_agent(prefix + agent_id, merged, signature=text))
        return agents

    async def execute_coordination_workflow(
        self,
        agents: Sequence[Agent],
        pattern: str,
        inputs: Mapping[str, Any],
        **options: Any,
    ) -> CoordinationExecutionResult:
        """Run `pattern` over `agents` (for debate: proponent, opponent, judge; for
        supervisor_worker the first agent supervises unless `supervisor=` is given)."""
        from kaizen.coordination import PATTERNS, CoordinationError

        if pattern not in PATTERNS:
            raise ValueError(f"unknown pattern {pattern!r}; use one of {', '.join(PATTERNS)}")
        agents = list(agents)
        if pattern == "supervisor_worker" and "supervisor" not in options and len(agents) > 1:
            options["supervisor"] = agents[0]
            agents = agents[1:]
        if pattern == "debate":
            proponent, opponent, judge = agents
            runner = self.kaizen.debate(proponent, opponent, judge, **options)
        else:
            runner = getattr(self.kaizen, pattern)(agents, **options)
        started = time.perf_counter()
        try:
            result = await runner.arun(**dict(inputs))
        except CoordinationError as exc:
            return CoordinationExecutionResult(
                pattern, False, (time.perf_counter() - started) * 1000, None, exc
            )
        return CoordinationExecutionResult(
            pattern, bool(result.success), (time.perf_counter() - started) * 1000, result, None
        )


# --- real faults ----------------------------------------------------------------------------


class FaultError(RuntimeError):
    """A fault could not be injected (e.g. the process is not one the toolkit started)."""


def _loopback_only(host: str) -> None:
    import ipaddress

    if host != "localhost" and not ipaddress.ip_address(host).is_loopback:
        raise FaultError(f"fault proxies only forward to loopback addresses, got {host!r}")


class TcpFaultProxy:
    """A loopback TCP proxy (asyncio, own thread) in front of a real service.

    `latency` delays every chunk in both directions; `drop_connections()` cuts every live
    connection; `refuse_new` closes new connections at once; `drop_after_bytes` cuts a
    connection once that many bytes came back from the server.
    """

    def __init__(self, target_host: str, target_port: int, *, latency: float = 0.0) -> None:
        _loopback_only(target_host)
        self.target = (target_host, target_port)
        self.latency = latency
        self.refuse_new = False
        self.drop_after_bytes: int | None = None
        self.connections = 0
        self._writers: set[asyncio.StreamWriter] = set()
        self._loop = asyncio.new_event_loop()
        self._ready = threading.Event()
        self._server: asyncio.AbstractServer | None = None
        self._thread = threading.Thread(target=self._run, name="kaizen-fault-proxy", daemon=True)
        self.port = 0

    def start(self) -> TcpFaultProxy:
        self._thread.start()
        if not self._ready.wait(10):
            raise FaultError("fault proxy did not start within 10 s")
        if self._server is None:
            raise FaultError("fault proxy failed to bind 127.0.0.1")
        return self

    @property
    def address(self) -> tuple[str, int]:
        return ("127.0.0.1", self.port)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def _run(self) -> None:
        asyncio.set_event_loop(self._loop)
        try:
            self._server = self._loop.run_until_complete(
                asyncio.start_server(self._handle, "127.0.0.1", 0)
            )
            self.port = self._server.sockets[0].getsockname()[1]
        finally:
            self._ready.set()
        self._loop.run_forever()

    async def _pipe(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, from_server: bool
    ) -> None:
        sent = 0
        try:
            while chunk := await reader.read(65536):
                if self.latency:
                    await asyncio.sleep(self.latency)  # the injected fault itself
                if from_server and self.drop_after_bytes is not None:
                    allowed = self.drop_after_bytes - sent
                    if allowed <= 0:
                        break
                    chunk = chunk[:allowed]
                writer.write(chunk)
                await writer.drain()
                sent += len(chunk)
                cap = self.drop_after_bytes
                if from_server and cap is not None and sent >= cap:
                    break
        except (ConnectionError, asyncio.CancelledError):
            pass
        finally:
            with contextlib.suppress(Exception):
                writer.close()

    async def _handle(self, client_r: asyncio.StreamReader, client_w: asyncio.StreamWriter) -> None:
        self.connections += 1
        if self.refuse_new:
            client_w.close()
            return
        try:
            server_r, server_w = await asyncio.open_connection(*self.target)
        except OSError:
            client_w.close()
            return
        self._writers.update((client_w, server_w))
        try:
            await asyncio.gather(
                self._pipe(client_r, server_w, False), self._pipe(server_r, client_w, True)
            )
        finally:
            self._writers.difference_update((client_w, server_w))

    def drop_connections(self) -> int:
        """Close every live connection now; returns how many sockets were cut."""

        def cut() -> int:
            count = len(self._writers)
            for writer in list(self._writers):
                transport = writer.transport
                if transport is not None:
                    transport.abort()
            return count

        return asyncio.run_coroutine_threadsafe(_call(cut), self._loop).result(10)

    def stop(self) -> None:
        if not self._thread.is_alive():
            return

        async def shutdown() -> None:
            if self._server is not None:
                self._server.close()
            for writer in list(self._writers):
                if writer.transport is not None:
                    writer.transport.abort()

        asyncio.run_coroutine_threadsafe(shutdown(), self._loop).result(10)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(10)
        self._loop.close()


async def _call(fn: Callable[[], T]) -> T:
    return fn()


CorruptFn = Callable[[str], str]


def _corrupt_truncate(text: str) -> str:
    return text[: max(1, len(text) // 2)]


class LLMOutputCorrupter:
    """An HTTP proxy in front of a real Ollama-API server that corrupts the model's text.

    Requests go to the real server unchanged; in `/api/generate` and `/api/chat` answers the
    generated text is passed through `corrupt` (default: cut in half, which breaks JSON).
    It is a fault injector: every answer still comes from the real model.
    """

    def __init__(self, upstream: str, corrupt: CorruptFn = _corrupt_truncate) -> None:
        from urllib.parse import urlparse

        parsed = urlparse(upstream)
        _loopback_only(parsed.hostname or "")
        self.upstream = upstream.rstrip("/")
        self.corrupt = corrupt
        self.corrupted = 0
        self._server: Any = None
        self._thread: threading.Thread | None = None
        self._url = ""

    @property
    def url(self) -> str:
        if not self._url:
            raise FaultError("the corrupter is not started")
        return self._url

    def start(self) -> LLMOutputCorrupter:
        from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

        proxy = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: Any) -> None:
                return

            def _forward(self) -> None:
                import httpx

                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                headers = {"Content-Type": self.headers.get("Content-Type", "application/json")}
                with httpx.Client(timeout=600) as client:
                    upstream = client.request(
                        self.command, proxy.upstream + self.path, content=body, headers=headers
                    )
                payload = upstream.content
                if self.path.startswith(("/api/generate", "/api/chat")) and upstream.is_success:
                    payload = proxy._rewrite(payload)
                self.send_response(upstream.status_code)
                self.send_header(
                    "Content-Type", upstream.headers.get("content-type", "application/json")
                )
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            do_GET = do_POST = do_DELETE = do_HEAD = _forward

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self._url = f"http://127.0.0.1:{self._server.server_address[1]}"
        self._thread = threading.Thread(
            target=self._server.serve_forever, name="kaizen-llm-corrupter", daemon=True
        )
        self._thread.start()
        return self

    def _rewrite(self, payload: bytes) -> bytes:
        """Non-streamed answers are one JSON object, streamed ones NDJSON lines; the text of
        all of them, joined, is corrupted and handed back in the first line."""
        lines = [json.loads(line) for line in payload.splitlines() if line.strip()]
        if not lines:
            return payload

        def get(obj: dict[str, Any]) -> str:
            if "response" in obj:
                return str(obj["response"])
            return str(obj.get("message", {}).get("content", ""))

        def put(obj: dict[str, Any], text: str) -> None:
            if "response" in obj:
                obj["response"] = text
            elif "message" in obj:
                obj["message"]["content"] = text

        corrupted = self.corrupt("".join(get(obj) for obj in lines))
        for index, obj in enumerate(lines):
            put(obj, corrupted if index == 0 else "")
        self.corrupted += 1
        return b"\n".join(json.dumps(obj).encode() for obj in lines) + (
            b"\n" if len(lines) > 1 else b""
        )

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None
        if self._thread is not None:
            self._thread.join(10)


def _status_pid(service: Any) -> int:
    """The PID to fault, proven ours: a server the stack recorded (identity verified) or a
    descendant of this process. Anything else is refused, never signalled."""
    pid = getattr(service, "pid", None) if not isinstance(service, int) else service
    if pid is None:
        name = getattr(service, "service", service)
        backend = getattr(service, "backend", "?")
        raise FaultError(
            f"{name} (backend {backend}) has no process the toolkit started; refusing to "
            "signal a server somebody else runs"
        )
    pid = int(pid)
    import psutil

    from tests.utils._services.identity import Verdict
    from tests.utils._services.stack import default_stack

    for record in default_stack().registry.records().values():
        if record.pid == pid:
            verdict, why = record.verdict()
            if verdict is Verdict.SAME:
                return pid
            raise FaultError(f"refusing to signal pid {pid}: {why}")
    with contextlib.suppress(psutil.Error):
        if any(c.pid == pid for c in psutil.Process().children(recursive=True)):
            return pid
    raise FaultError(
        f"refusing to signal pid {pid}: it is neither a server the stack recorded nor a "
        "child of this process"
    )


def _stop_signal_for(pid: int, records: Iterable[Any] | None = None) -> int:
    """The stop signal the service stack recorded for `pid`, else SIGTERM."""
    if records is None:
        from tests.utils._services.stack import default_stack

        records = default_stack().registry.records().values()
    for record in records:
        if record.pid == pid:
            return int(record.stop_signal)
    return int(signal.SIGTERM)


class ErrorSimulator:
    """Injects real faults; `restore_all()` (run after every IntegrationTestSuite test)
    undoes them in reverse order, and reports every undo that failed."""

    def __init__(self) -> None:
        self._undo: list[tuple[str, Callable[[], None]]] = []

    def __enter__(self) -> ErrorSimulator:
        return self

    def __exit__(self, *exc: object) -> None:
        self.restore_all()

    @property
    def active(self) -> list[str]:
        return [label for label, _ in self._undo]

    def _push(self, label: str, undo: Callable[[], None]) -> None:
        self._undo.append((label, undo))

    def restore_all(self) -> None:
        failures = []
        while self._undo:
            label, undo = self._undo.pop()
            try:
                undo()
            except Exception as exc:
                failures.append(f"{label}: {type(exc).__name__}: {exc}")
        if failures:
            raise FaultError("could not undo fault(s): " + "; ".join(failures))

    # -- processes -------------------------------------------------------------------------

    def pause_service(self, service: Any) -> int:
        """SIGSTOP the service's process (a `ServiceStatus` or a PID we started): it keeps
        its port but answers nothing, like a hung server. Undone with SIGCONT."""
        pid = _status_pid(service)
        ident = _identity(pid)
        os.kill(pid, signal.SIGSTOP)
        self._push(f"pause pid {pid}", lambda: _signal_if_same(ident, signal.SIGCONT))
        return pid

    def resume_service(self, service: Any) -> None:
        pid = _status_pid(service)
        _signal_if_same(_identity(pid), signal.SIGCONT)
        self._undo = [(lbl, u) for lbl, u in self._undo if lbl != f"pause pid {pid}"]

    def stop_service(
        self, service: Any, *, restart: Callable[[], Any], timeout: float = 30.0
    ) -> int:
        """Stop the service's process with its own stop signal and wait until it is gone;
        `restart` (e.g. the service plugin's ensure) brings it back when the fault is undone.

        The signal is the one the stack recorded when it started the server (PostgreSQL's is
        SIGINT, a fast shutdown: its SIGTERM waits for every client to disconnect)."""
        import psutil

        pid = _status_pid(service)
        proc = psutil.Process(pid)
        proc.send_signal(_stop_signal_for(pid))
        proc.wait(timeout)
        self._push(f"stop pid {pid}", lambda: restart())
        return pid

    # -- ports and connections ---------------------------------------------------------------

    def hold_port(self, port: int = 0, host: str = "127.0.0.1") -> int:
        """Bind and listen on `port` so nobody else can (a foreign holder); returns it."""
        _loopback_only(host)
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        try:
            sock.bind((host, port))
        except OSError as exc:
            sock.close()
            from tests.utils._services.ports import find_port_holder

            holder = find_port_holder(port, host)
            who = holder.describe() if holder else "unknown"
            raise FaultError(f"cannot hold {host}:{port}: {exc}; held by {who}") from None
        sock.listen(8)
        held = sock.getsockname()[1]
        self._push(f"hold port {held}", sock.close)
        return int(held)

    def tcp_proxy(
        self, target_host: str, target_port: int, *, latency: float = 0.0
    ) -> TcpFaultProxy:
        """A started loopback proxy to the target; point the client at `proxy.port`."""
        proxy = TcpFaultProxy(target_host, target_port, latency=latency).start()
        self._push(f"tcp proxy :{proxy.port}", proxy.stop)
        return proxy

    def add_latency(self, target_host: str, target_port: int, seconds: float) -> TcpFaultProxy:
        return self.tcp_proxy(target_host, target_port, latency=seconds)

    # -- the LLM ---------------------------------------------------------------------------

    def malformed_llm_output(
        self, upstream: str, corrupt: CorruptFn = _corrupt_truncate
    ) -> LLMOutputCorrupter:
        """A proxy whose `.url` serves the real model's answers, corrupted."""
        corrupter = LLMOutputCorrupter(upstream, corrupt).start()
        self._push(f"llm corrupter {corrupter.url}", corrupter.stop)
        return corrupter


def _identity(pid: int) -> Any:
    from tests.utils._services.identity import identify

    return identify(pid)


def _signal_if_same(identity: Any, sig: signal.Signals) -> None:
    """Signal the process only while it is still the one we faulted (a PID may be reused)."""
    from tests.utils._services.identity import Verdict, verify

    if identity is not None and verify(identity)[0] is Verdict.SAME:
        with contextlib.suppress(ProcessLookupError):
            os.kill(identity.pid, sig)
