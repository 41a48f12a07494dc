"""How `Kaizen` builds teams: resolve agent ids, wire the framework's audit trail, and
refuse to run unaudited when `KaizenConfig.audit_enabled` says a trail is required."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from kaizen.errors import ConfigurationError

if TYPE_CHECKING:
    from kaizen.agent import Agent
    from kaizen.coordination._base import Pattern
    from kaizen.framework import Kaizen


def _resolve(kaizen: Kaizen, value: Any) -> Any:
    from kaizen.agent import Agent

    if isinstance(value, str):
        return kaizen.get_agent(value)
    if isinstance(value, Agent) or value is None:
        return value
    if isinstance(value, Sequence):
        return [_resolve(kaizen, v) for v in value]
    return value


def build_pattern(kaizen: Kaizen, pattern: str, *args: Any, **options: Any) -> Pattern:
    """`pattern` is a name from `kaizen.coordination.PATTERNS`; agents may be ids."""
    from kaizen.coordination import PATTERNS

    cls = PATTERNS.get(pattern)
    if cls is None:
        raise ConfigurationError(
            "pattern", f"unknown pattern {pattern!r}; use one of {', '.join(PATTERNS)}"
        )
    args = tuple(_resolve(kaizen, a) for a in args)
    for key in ("supervisor", "proponent", "opponent", "judge"):
        if key in options:
            options[key] = _resolve(kaizen, options[key])
    if "audit" not in options:
        options["audit"] = kaizen.audit_trail
    if kaizen.config.audit_enabled and options["audit"] is None:
        raise ConfigurationError(
            "audit_enabled",
            "is true but no audit trail is attached; call Kaizen.attach_audit(AuditTrail(...)) "
            "or pass audit=... to the team",
        )
    return cls(*args, **options)


def create_agent_team(
    kaizen: Kaizen,
    team_id: str,
    agents: Sequence[Agent | str],
    pattern: str = "supervisor_worker",
    **options: Any,
) -> Pattern:
    """A team is a pattern over named agents; `memory` may be a `ConversationMemory`, which
    becomes the team's `SharedMemoryPool` under `team_id`."""
    if not isinstance(team_id, str) or not team_id:
        raise ConfigurationError("team_id", f"must be a non-empty string, got {team_id!r}")
    memory = options.get("memory")
    if memory is not None:
        from kaizen.memory import ConversationMemory, SharedMemoryPool

        if isinstance(memory, ConversationMemory):
            options["memory"] = SharedMemoryPool(memory, team_id)
    if pattern == "debate":
        proponent, opponent, judge = _resolve(kaizen, list(agents))
        return build_pattern(kaizen, pattern, proponent, opponent, judge, **options)
    return build_pattern(kaizen, pattern, list(agents), **options)
