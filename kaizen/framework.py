"""`Kaizen`: the framework object that owns configuration and a namespace of agents."""

from __future__ import annotations

import difflib
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from kaizen.config import AgentConfig, AgentConfigMemo, KaizenConfig
from kaizen.errors import AgentError, ConfigurationError, DuplicateAgentError

if TYPE_CHECKING:
    from kaizen.agent import Agent
    from kaizen.audit import AuditTrail
    from kaizen.coordination import Pattern
    from kaizen.signatures import Signature


_AGENT_CLASS: list[type[Agent]] = []
"""`kaizen.agent.Agent`, once imported (lazily: `import kaizen` must not load it)."""


def _agent_class() -> type[Agent]:
    from kaizen.agent import Agent

    _AGENT_CLASS.append(Agent)
    return Agent


class Kaizen:
    """Entry point: `Kaizen(config=...)`, then `create_agent(agent_id, config, signature=...)`."""

    __slots__ = ("_agents", "_audit", "_configs", "config")

    def __init__(self, config: KaizenConfig | Mapping[str, Any] | None = None) -> None:
        self.config = KaizenConfig.coerce(config)
        self._agents: dict[str, Agent] = {}
        self._audit: AuditTrail | None = None
        self._configs: AgentConfigMemo | None = None  # made by the first create_agent

    def __repr__(self) -> str:
        return f"Kaizen(agents={len(self._agents)}, provider={self.config.default_provider!r})"

    def create_agent(
        self,
        agent_id: str,
        config: AgentConfig | Mapping[str, Any] | None = None,
        *,
        signature: type[Signature] | str | None = None,
        tools: Sequence[Any] | None = None,
    ) -> Agent:
        """Create and register an agent. The config is copied and validated, never mutated.

        `tools`: plain typed callables or `kaizen.tools.Tool`s the model may ask to run.
        Equal config dicts are validated once per framework (see `AgentConfigMemo`).
        """
        agents = self._agents
        if not isinstance(agent_id, str) or not agent_id.strip():
            raise ConfigurationError("agent_id", f"must be a non-empty string, got {agent_id!r}")
        if agent_id in agents:
            raise DuplicateAgentError(
                f"an agent named {agent_id!r} already exists; pick another id or "
                "remove_agent() it first"
            )
        framework = self.config
        if len(agents) >= framework.max_agents:
            raise ConfigurationError(
                "max_agents", f"limit of {framework.max_agents} agents reached"
            )
        memo = self._configs
        if memo is None:
            memo = self._configs = AgentConfigMemo()
        resolved = None
        if config.__class__ is dict and memo.framework is framework and config == memo.last:
            resolved = memo.last_resolved  # the config of the last agent again (see the memo)
        if resolved is None:
            resolved = memo.resolve(config, framework)
        agent_class = _AGENT_CLASS[0] if _AGENT_CLASS else _agent_class()
        agent = agent_class(agent_id, resolved, signature, tools, self._current_audit)
        agents[agent_id] = agent
        if self._audit is not None:
            self._audit.record_config_change(
                agent_id,
                {**agent.config.to_dict(), "signature": agent.compiled.text},
                action="create_agent",
            )
        return agent

    def get_agent(self, agent_id: str) -> Agent:
        try:
            return self._agents[agent_id]
        except KeyError:
            close = difflib.get_close_matches(agent_id, self._agents, n=1)
            hint = f"; did you mean {close[0]!r}?" if close else ""
            raise AgentError(f"no agent named {agent_id!r}{hint}") from None

    def list_agents(self) -> list[str]:
        return list(self._agents)

    def remove_agent(self, agent_id: str) -> None:
        self.get_agent(agent_id)
        del self._agents[agent_id]

    def __contains__(self, agent_id: object) -> bool:
        return agent_id in self._agents

    def __len__(self) -> int:
        return len(self._agents)

    # -- audit and teams (kaizen.audit, kaizen.coordination) --------------------------------

    def attach_audit(self, trail: AuditTrail) -> AuditTrail:
        """Record configuration changes and team runs in `trail` (records the config now)."""
        from kaizen.audit import AuditTrail

        if not isinstance(trail, AuditTrail):
            raise ConfigurationError("audit", f"must be an AuditTrail, got {trail!r}")
        self._audit = trail
        trail.record_config_change("kaizen", self.config.to_dict(), action="attach_audit")
        return trail

    def _current_audit(self) -> AuditTrail | None:
        return self._audit

    @property
    def audit_trail(self) -> AuditTrail | None:
        return self._audit

    def create_agent_team(
        self, team_id: str, agents: Any, pattern: str = "supervisor_worker", **options: Any
    ) -> Pattern:
        """A coordination pattern over agents (ids or Agents); see kaizen.coordination."""
        from kaizen.coordination.team import create_agent_team

        return create_agent_team(self, team_id, agents, pattern, **options)

    def sequential(self, stages: Any, **options: Any) -> Pattern:
        from kaizen.coordination.team import build_pattern

        return build_pattern(self, "sequential", stages, **options)

    def parallel(self, agents: Any, **options: Any) -> Pattern:
        from kaizen.coordination.team import build_pattern

        return build_pattern(self, "parallel", agents, **options)

    def supervisor_worker(self, workers: Any, supervisor: Any = None, **options: Any) -> Pattern:
        from kaizen.coordination.team import build_pattern

        return build_pattern(self, "supervisor_worker", workers, supervisor=supervisor, **options)

    def consensus(self, agents: Any, **options: Any) -> Pattern:
        from kaizen.coordination.team import build_pattern

        return build_pattern(self, "consensus", agents, **options)

    def debate(self, proponent: Any, opponent: Any, judge: Any, **options: Any) -> Pattern:
        from kaizen.coordination.team import build_pattern

        return build_pattern(
            self, "debate", proponent=proponent, opponent=opponent, judge=judge, **options
        )

    def handoff(self, tiers: Any, **options: Any) -> Pattern:
        from kaizen.coordination.team import build_pattern

        return build_pattern(self, "handoff", tiers, **options)
