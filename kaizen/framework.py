"""`Kaizen`: the framework object that owns configuration and a namespace of agents."""

from __future__ import annotations

import difflib
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from kaizen.config import AgentConfig, KaizenConfig, resolve_agent_config
from kaizen.errors import AgentError, ConfigurationError, DuplicateAgentError

if TYPE_CHECKING:
    from kaizen.agent import Agent
    from kaizen.signatures import Signature


class Kaizen:
    """Entry point: `Kaizen(config=...)`, then `create_agent(agent_id, config, signature=...)`."""

    __slots__ = ("_agents", "config")

    def __init__(self, config: KaizenConfig | Mapping[str, Any] | None = None) -> None:
        self.config = KaizenConfig.coerce(config)
        self._agents: dict[str, Agent] = {}

    def __repr__(self) -> str:
        return f"Kaizen(agents={len(self._agents)}, provider={self.config.default_provider!r})"

    def create_agent(
        self,
        agent_id: str,
        config: AgentConfig | Mapping[str, Any] | None = None,
        *,
        signature: type[Signature] | str | None = None,
    ) -> Agent:
        """Create and register an agent. The config is copied and validated, never mutated."""
        from kaizen.agent import Agent

        if not isinstance(agent_id, str) or not agent_id.strip():
            raise ConfigurationError("agent_id", f"must be a non-empty string, got {agent_id!r}")
        if agent_id in self._agents:
            raise DuplicateAgentError(
                f"an agent named {agent_id!r} already exists; pick another id or "
                "remove_agent() it first"
            )
        if len(self._agents) >= self.config.max_agents:
            raise ConfigurationError(
                "max_agents", f"limit of {self.config.max_agents} agents reached"
            )
        agent = Agent(agent_id, resolve_agent_config(config, self.config), signature)
        self._agents[agent_id] = agent
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
