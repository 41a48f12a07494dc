"""Supervisor-worker: tasks are delegated to workers (round-robin, or by `route`), run
concurrently (one task at a time per worker), reassigned to another worker when they fail,
and aggregated by the supervisor agent (or an `aggregate` callable).

Delegation is decided in code, not by the model: small models plan unreliably, and a
deterministic assignment is what makes reassignment and the audit trail checkable.
Terminates by construction: each task gets at most `max_attempts` attempts, each on a
worker that has not tried it yet.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from kaizen.coordination._base import Pattern, Recorder, check_agent, check_agents
from kaizen.coordination.results import Reassignment, SupervisorResult
from kaizen.errors import ConfigurationError

if TYPE_CHECKING:
    from kaizen.agent import Agent

Route = Callable[[int, Mapping[str, Any], tuple[str, ...]], str]


class SupervisorWorker(Pattern):
    name = "supervisor_worker"

    def __init__(
        self,
        workers: Sequence[Agent],
        supervisor: Agent | None = None,
        *,
        route: Route | None = None,
        max_attempts: int = 2,
        aggregate: Callable[[Sequence[Mapping[str, Any]]], Mapping[str, Any]] | None = None,
        allow_partial: bool = False,
        **options: Any,
    ) -> None:
        super().__init__(**options)
        self.workers = check_agents(workers, "workers")
        self.supervisor = None if supervisor is None else check_agent(supervisor, "supervisor")
        if isinstance(max_attempts, bool) or not isinstance(max_attempts, int) or max_attempts < 1:
            raise ConfigurationError("max_attempts", f"must be >= 1, got {max_attempts!r}")
        if route is not None and not callable(route):
            raise ConfigurationError("route", "must be callable(index, task, worker_ids) -> id")
        self.route = route
        self.max_attempts = min(max_attempts, len(self.workers))
        self.aggregate = aggregate
        self.allow_partial = allow_partial

    @property
    def agents(self) -> tuple[Agent, ...]:
        return (*self.workers, *([self.supervisor] if self.supervisor else []))

    def _tasks(self, tasks: Any) -> list[dict[str, Any]]:
        if isinstance(tasks, str | bytes) or not isinstance(tasks, Sequence) or not tasks:
            raise ConfigurationError("tasks", "must be a non-empty list of dicts or strings")
        out = []
        for i, task in enumerate(tasks):
            if isinstance(task, str):
                out.append({"task": task})
            elif isinstance(task, Mapping):
                out.append(dict(task))
            else:
                raise ConfigurationError("tasks", f"task {i} must be a dict or string")
        return out

    def _first_worker(self, index: int, task: Mapping[str, Any]) -> int:
        ids = tuple(w.agent_id for w in self.workers)
        if self.route is None:
            return index % len(ids)
        chosen = self.route(index, task, ids)
        if chosen not in ids:
            raise ConfigurationError("route", f"returned {chosen!r}, not one of {ids}")
        return ids.index(chosen)

    async def _execute(self, inputs: dict[str, Any], rec: Recorder) -> SupervisorResult:
        tasks = self._tasks(inputs.pop("tasks", None))
        locks = {w.agent_id: asyncio.Lock() for w in self.workers}
        assignments: dict[str, str] = {}
        reassignments: list[Reassignment] = []
        results: list[Mapping[str, Any] | None] = [None] * len(tasks)

        async def handle(index: int, task: dict[str, Any]) -> None:
            task_id = f"task-{index}"
            start = self._first_worker(index, task)
            context = {**inputs, **task}
            for attempt in range(1, self.max_attempts + 1):
                worker = self.workers[(start + attempt - 1) % len(self.workers)]
                assignments[task_id] = worker.agent_id
                async with locks[worker.agent_id]:
                    step = await rec.call(
                        worker, "worker", context, task_id=task_id, attempt=attempt
                    )
                if step.status == "ok":
                    results[index] = step.outputs
                    return
                if attempt < self.max_attempts:
                    nxt = self.workers[(start + attempt) % len(self.workers)]
                    reassignments.append(
                        Reassignment(task_id, worker.agent_id, nxt.agent_id, step.error or "")
                    )

        await asyncio.gather(*(handle(i, t) for i, t in enumerate(tasks)))
        failed = tuple(f"task-{i}" for i, r in enumerate(results) if r is None)
        if failed and not self.allow_partial:
            raise self._fail(rec, f"task(s) {', '.join(failed)} failed on every attempt")
        done = [dict(r) for r in results if r is not None]
        if self.supervisor is not None:
            context = {
                **inputs,
                "results": json.dumps(done, default=str),
                "tasks": json.dumps(tasks, default=str),
            }
            step = await rec.call(self.supervisor, "supervisor", context)
            if step.status == "failed":
                raise self._fail(rec, f"supervisor {self.supervisor.agent_id} failed to aggregate")
            outputs = {**step.outputs, "results": done}
        elif self.aggregate is not None:
            outputs = dict(self.aggregate(done))
        else:
            outputs = {"results": done}
        return SupervisorResult(
            **self._finish(rec, success=not failed, outputs=outputs),
            assignments=dict(sorted(assignments.items())),
            reassignments=tuple(reassignments),
            failed_tasks=failed,
            task_results=tuple(r if r is not None else {} for r in results),
        )
