"""Typed, validated configuration for the framework and its agents.

Plain slotted dataclasses with explicit checks instead of pydantic: `import kaizen` must stay
cheap and a thousand agents must fit in a few megabytes. Every error names the key and says
what would be accepted.
"""

from __future__ import annotations

import difflib
import math
import os
from collections.abc import Callable, Mapping
from dataclasses import MISSING, dataclass, fields, replace
from typing import Any, ClassVar, Self

from kaizen.errors import ConfigurationError

DEFAULT_OLLAMA_URL = "http://127.0.0.1:11434"
"""A stock Ollama install's endpoint (where `ollama serve` listens, and the official client's
default), so a new user's agent finds their Ollama with no setting. Override it with
`KAIZEN_OLLAMA_URL` or an agent's `base_url`; the test toolkit sets `KAIZEN_OLLAMA_URL` to
its own stack (port 11435) for the tests that use it. 127.0.0.1, not "localhost": Ollama
binds IPv4 loopback only, and "localhost" may resolve to ::1 first."""


def _unknown_key(key: str, known: tuple[str, ...], where: str) -> ConfigurationError:
    close = difflib.get_close_matches(key, known, n=1)
    hint = f"did you mean {close[0]!r}? " if close else ""
    return ConfigurationError(key, f"unknown {where} key; {hint}known keys: {', '.join(known)}")


def _number(key: str, value: Any, *, integer: bool = False) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        kind = "an integer" if integer else "a number"
        raise ConfigurationError(key, f"must be {kind}, got {type(value).__name__} {value!r}")
    if integer and not isinstance(value, int):
        raise ConfigurationError(key, f"must be an integer, got {value!r}")
    if not math.isfinite(value):
        raise ConfigurationError(key, f"must be finite, got {value!r}")
    return value


def _check_range(
    key: str,
    value: Any,
    *,
    low: float,
    high: float = math.inf,
    low_open: bool = False,
    integer: bool = False,
) -> None:
    _number(key, value, integer=integer)
    if value < low or (low_open and value == low) or value > high:
        bound = f"> {low:g}" if low_open else f">= {low:g}"
        if high != math.inf:
            bound = f"between {low:g} and {high:g}"
        raise ConfigurationError(key, f"must be {bound}, got {value!r}")


def _check_str(key: str, value: Any, *, optional: bool = False, empty_ok: bool = False) -> None:
    if value is None and optional:
        return
    if not isinstance(value, str) or (not empty_ok and not value.strip()):
        raise ConfigurationError(key, f"must be a non-empty string, got {value!r}")


def _check_bool(key: str, value: Any) -> None:
    if not isinstance(value, bool):
        raise ConfigurationError(key, f"must be true or false, got {value!r}")


class _Validated:
    """Shared construction for the config dataclasses: from a mapping, env, or an instance."""

    __slots__ = ()
    _where: ClassVar[str]

    def _validate(self) -> None:  # pragma: no cover - every subclass overrides
        raise NotImplementedError

    @classmethod
    def keys(cls) -> tuple[str, ...]:
        return tuple(f.name for f in fields(cls))  # type: ignore[arg-type]

    @classmethod
    def from_mapping(cls, mapping: Mapping[str, Any], **defaults: Any) -> Self:
        """Build from a mapping; unknown keys are errors. `defaults` fill unset keys."""
        if not isinstance(mapping, Mapping):
            raise ConfigurationError(
                cls._where, f"expected a mapping or {cls.__name__}, got {type(mapping).__name__}"
            )
        known = cls.keys()
        for key in mapping:
            if key not in known:
                raise _unknown_key(str(key), known, cls._where)
        values = {**defaults, **mapping}
        for field in fields(cls):  # type: ignore[arg-type]
            if field.name not in values and field.default is MISSING:
                raise ConfigurationError(field.name, f"required in the {cls._where}")
        return cls(**values)

    def with_changes(self, **changes: Any) -> Self:
        """A validated copy with `changes` applied (the original is never mutated)."""
        known = self.keys()
        for key in changes:
            if key not in known:
                raise _unknown_key(key, known, self._where)
        return replace(self, **changes)  # type: ignore[type-var]

    def to_dict(self) -> dict[str, Any]:
        return {name: getattr(self, name) for name in self.keys()}


@dataclass(frozen=True, slots=True)
class AgentConfig(_Validated):
    """One agent's settings. `model` is required; everything else has a safe default."""

    model: str
    provider: str = "ollama"
    temperature: float = 0.0
    max_tokens: int = 256
    timeout: float = 60.0
    base_url: str | None = None
    seed: int | None = None
    max_retries: int = 2
    system_prompt: str | None = None
    #: Model calls one tool-using run may make before ToolLoopLimitError (tool agents only).
    max_steps: int = 8

    _where: ClassVar[str] = "agent config"

    def __post_init__(self) -> None:
        self._validate()

    def _validate(self) -> None:
        _check_str("model", self.model)
        _check_str("provider", self.provider)
        _check_range("temperature", self.temperature, low=0.0, high=2.0)
        _check_range("max_tokens", self.max_tokens, low=0, low_open=True, integer=True)
        _check_range("timeout", self.timeout, low=0, low_open=True)
        _check_range("max_retries", self.max_retries, low=0, integer=True)
        _check_range("max_steps", self.max_steps, low=1, integer=True)
        if self.seed is not None:
            _number("seed", self.seed, integer=True)
        _check_str("system_prompt", self.system_prompt, optional=True, empty_ok=True)
        if self.base_url is not None:
            _check_str("base_url", self.base_url)
            if not self.base_url.startswith(("http://", "https://")):
                raise ConfigurationError(
                    "base_url", f"must start with http:// or https://, got {self.base_url!r}"
                )


def _env_bool(raw: str) -> bool:
    lowered = raw.strip().lower()
    if lowered in ("1", "true", "yes", "on"):
        return True
    if lowered in ("0", "false", "no", "off"):
        return False
    raise ValueError(f"not a boolean: {raw!r}")


@dataclass(frozen=True, slots=True)
class KaizenConfig(_Validated):
    """Framework-wide settings: defaults for agents and switches for optional features."""

    default_provider: str = "ollama"
    default_model: str | None = None
    default_timeout: float = 60.0
    max_agents: int = 100_000
    audit_enabled: bool = False
    audit_retention_days: int = 365
    memory_enabled: bool = False
    memory_max_turns: int = 50
    log_level: str = "WARNING"

    _where: ClassVar[str] = "kaizen config"
    ENV_PREFIX: ClassVar[str] = "KAIZEN_"
    _LOG_LEVELS: ClassVar[tuple[str, ...]] = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")

    def __post_init__(self) -> None:
        self._validate()

    def _validate(self) -> None:
        _check_str("default_provider", self.default_provider)
        _check_str("default_model", self.default_model, optional=True)
        _check_range("default_timeout", self.default_timeout, low=0, low_open=True)
        _check_range("max_agents", self.max_agents, low=0, low_open=True, integer=True)
        _check_bool("audit_enabled", self.audit_enabled)
        _check_range(
            "audit_retention_days", self.audit_retention_days, low=0, low_open=True, integer=True
        )
        _check_bool("memory_enabled", self.memory_enabled)
        _check_range("memory_max_turns", self.memory_max_turns, low=0, low_open=True, integer=True)
        if isinstance(self.log_level, str) and self.log_level.upper() != self.log_level:
            object.__setattr__(self, "log_level", self.log_level.upper())
        if self.log_level not in self._LOG_LEVELS:
            raise ConfigurationError(
                "log_level", f"must be one of {', '.join(self._LOG_LEVELS)}, got {self.log_level!r}"
            )

    @classmethod
    def coerce(cls, value: KaizenConfig | Mapping[str, Any] | None) -> KaizenConfig:
        if value is None:
            return cls()
        if isinstance(value, cls):
            return value
        return cls.from_mapping(value)  # type: ignore[arg-type]

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> KaizenConfig:
        """Read `KAIZEN_<KEY>` variables (e.g. KAIZEN_DEFAULT_MODEL); others are ignored."""
        env = os.environ if environ is None else environ
        parsers: dict[str, Callable[[str], Any]] = {
            "default_timeout": float,
            "max_agents": int,
            "audit_enabled": _env_bool,
            "audit_retention_days": int,
            "memory_enabled": _env_bool,
            "memory_max_turns": int,
        }
        values: dict[str, Any] = {}
        for key in (field.name for field in fields(cls)):  # not `in cls`: a class, not a dict
            raw = env.get(cls.ENV_PREFIX + key.upper())
            if raw is None:
                continue
            try:
                values[key] = parsers.get(key, str)(raw)
            except ValueError as exc:
                raise ConfigurationError(key, f"{cls.ENV_PREFIX}{key.upper()}: {exc}") from None
        return cls(**values)


def resolve_agent_config(
    config: AgentConfig | Mapping[str, Any] | None, framework: KaizenConfig
) -> AgentConfig:
    """Copy (never mutate) the user's agent config, filling framework defaults."""
    if isinstance(config, AgentConfig):
        return config
    if config is not None and not isinstance(config, Mapping):
        raise ConfigurationError(
            AgentConfig._where,
            f"expected a mapping or AgentConfig, got {type(config).__name__}",
        )
    mapping = dict(config or {})
    defaults: dict[str, Any] = {
        "provider": framework.default_provider,
        "timeout": framework.default_timeout,
    }
    if "model" not in mapping or mapping["model"] is None:
        mapping.pop("model", None)
        model = framework.default_model or os.environ.get("KAIZEN_OLLAMA_MODEL")
        if model is None:
            raise ConfigurationError(
                "model",
                "required: set it in the agent config, KaizenConfig.default_model "
                "or KAIZEN_OLLAMA_MODEL",
            )
        defaults["model"] = model
    return AgentConfig.from_mapping(mapping, **defaults)


_MEMO_VALUE_TYPES = frozenset({str, int, float, bool, type(None)})


def memo_key(config: dict[str, Any]) -> tuple[Any, ...]:
    """`AgentConfigMemo`'s key: the items *and* the value types (1, 1.0 and True are equal
    keys otherwise, but not equally valid). TypeError for an unhashable value."""
    return (*config.items(), *map(type, config.values()))


_PLAIN_TEXT_TYPES = frozenset({str, type(None)})


class AgentConfigMemo:
    """`resolve_agent_config`, remembered: a framework that creates many agents from equal
    config dicts validates each distinct one once and shares the (immutable) result.

    Only plain dicts that name a model and hold plain scalars are remembered, by
    `memo_key`. A config that fails validation raises every time and is never stored; the
    memo belongs to one framework config (`framework`) and empties when asked about
    another; it holds at most `LIMIT` entries.

    `last` is a copy of the last config resolved when all its values are str or None:
    for those, `==` alone proves a config the same (a str or None equals nothing else,
    unlike 1, 1.0 and True), so `Kaizen.create_agent` compares against it before calling
    `resolve` (agents are usually made in a loop from one config)."""

    __slots__ = ("entries", "framework", "last", "last_resolved")
    LIMIT: ClassVar[int] = 256

    def __init__(self) -> None:
        self.framework: KaizenConfig | None = None
        self.entries: dict[tuple[Any, ...], AgentConfig] = {}
        self.last: dict[str, Any] | None = None
        self.last_resolved: AgentConfig | None = None

    def resolve(
        self, config: AgentConfig | Mapping[str, Any] | None, framework: KaizenConfig
    ) -> AgentConfig:
        if config.__class__ is not dict or config.get("model") is None:
            return resolve_agent_config(config, framework)
        types = frozenset(map(type, config.values()))
        if not _MEMO_VALUE_TYPES.issuperset(types):
            return resolve_agent_config(config, framework)
        key = memo_key(config)
        resolved = self.entries.get(key) if self.framework is framework else None
        if resolved is None:
            resolved = resolve_agent_config(config, framework)
            if self.framework is not framework or len(self.entries) >= self.LIMIT:
                self.entries.clear()
                self.framework = framework
                self.last = None
            self.entries[key] = resolved
        if _PLAIN_TEXT_TYPES.issuperset(types):
            self.last, self.last_resolved = dict(config), resolved
        return resolved
