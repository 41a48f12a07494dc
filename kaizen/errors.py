"""Typed errors. Every failure Kaizen reports is one of these, so callers can tell a bad
config from a bad model answer from an unreachable server without parsing messages."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any


class KaizenError(Exception):
    """Base of every error raised by Kaizen."""


class ConfigurationError(KaizenError, ValueError):
    """A configuration value is missing, unknown or out of range; `key` names it."""

    def __init__(self, key: str, message: str) -> None:
        self.key = key
        super().__init__(f"{key}: {message}")


# --- signatures -------------------------------------------------------------------------


class SignatureError(KaizenError, TypeError):
    """A signature definition is malformed (bad field type, duplicate name, ...)."""


class SignatureParseError(SignatureError, ValueError):
    """A string signature does not follow the grammar; carries the 0-based position."""

    def __init__(self, text: str, position: int, reason: str) -> None:
        self.text = text
        self.position = position
        self.reason = reason
        caret = " " * position + "^"
        super().__init__(f"{reason} at position {position}:\n  {text}\n  {caret}")


class FieldError:
    """One field-level problem found while validating inputs or outputs.

    A hand-written immutable record: `dataclasses` would pull in `inspect` (~10 ms) on
    every `import kaizen.errors`.
    """

    __slots__ = ("field", "message", "value")
    field: str
    message: str
    value: Any

    def __init__(self, field: str, message: str, value: Any = None) -> None:
        object.__setattr__(self, "field", field)
        object.__setattr__(self, "message", message)
        object.__setattr__(self, "value", value)

    def __setattr__(self, name: str, value: Any) -> None:
        raise AttributeError(f"FieldError is immutable; cannot set {name!r}")

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, FieldError):
            return NotImplemented
        return (self.field, self.message, self.value) == (other.field, other.message, other.value)

    def __hash__(self) -> int:
        return hash((self.field, self.message))

    def __repr__(self) -> str:
        return f"FieldError(field={self.field!r}, message={self.message!r}, value={self.value!r})"

    def __str__(self) -> str:
        return f"{self.field}: {self.message}"


class SignatureValidationError(KaizenError, ValueError):
    """Values do not match a signature; `errors` lists every failing field."""

    def __init__(self, signature: str, errors: Sequence[FieldError], raw: Any = None) -> None:
        self.signature = signature
        self.errors = tuple(errors)
        self.raw = raw
        detail = "; ".join(str(e) for e in self.errors)
        super().__init__(f"{signature}: {detail}")

    @property
    def fields(self) -> tuple[str, ...]:
        return tuple(e.field for e in self.errors)


# --- workflows ----------------------------------------------------------------------------


class WorkflowValidationError(KaizenError, ValueError):
    """A workflow cannot be built: unknown node, duplicate id, bad connection, cycle."""


class UnknownNodeTypeError(WorkflowValidationError):
    """`add_node` named a node type that is not registered; lists the closest names."""

    def __init__(self, node_type: str, suggestions: Sequence[str]) -> None:
        self.node_type = node_type
        self.suggestions = tuple(suggestions)
        hint = f"; did you mean {', '.join(map(repr, suggestions))}?" if suggestions else ""
        super().__init__(f"unknown node type {node_type!r}{hint}")


class NodeExecutionError(KaizenError):
    """A single node raised; wraps the cause with the node id."""

    def __init__(self, node_id: str, cause: BaseException) -> None:
        self.node_id = node_id
        self.cause = cause
        super().__init__(f"node {node_id!r} failed: {type(cause).__name__}: {cause}")


class OutputPathError(KaizenError, KeyError):
    """A connection's output path (`result`, or dotted `result.a.b`) is absent from what the
    source node produced at run time. Names the path, where it stopped and the keys that
    were there, because a silent `None` would surface far from the cause. A `KeyError`, so
    callers that caught the old plain one still do."""

    def __init__(
        self,
        node_id: str,
        path: str,
        reached: str,
        missing: str,
        available: Sequence[str] | None,
        found_type: str = "",
    ) -> None:
        self.node_id = node_id
        self.path = path
        self.reached = reached  # the dotted prefix that resolved; "" is the outputs dict
        self.missing = missing
        self.available = None if available is None else tuple(available)
        keys = ", ".join(map(str, self.available or ())) or "nothing"
        if not reached:
            via = f" for path {path!r}" if path != missing else ""
            self.message = (
                f"node {node_id!r} produced no output {missing!r}{via} (it produced: {keys})"
            )
        elif self.available is None:
            self.message = (
                f"node {node_id!r} output path {path!r}: {reached!r} is a {found_type}, "
                f"not a mapping, so it has no key {missing!r}"
            )
        else:
            self.message = (
                f"node {node_id!r} output path {path!r}: {reached!r} has no key {missing!r} "
                f"(keys there: {keys})"
            )
        super().__init__(self.message)

    def __str__(self) -> str:  # KeyError's str() would repr-quote the whole message
        return self.message


class WorkflowExecutionError(KaizenError):
    """At least one node failed. Never swallowed: carries partial results and every error."""

    def __init__(
        self,
        run_id: str,
        results: Mapping[str, Any],
        errors: Mapping[str, BaseException],
        skipped: Sequence[str] = (),
    ) -> None:
        self.run_id = run_id
        self.results = dict(results)
        self.errors = dict(errors)
        self.skipped = tuple(skipped)
        detail = "; ".join(f"{n}: {type(e).__name__}: {e}" for n, e in self.errors.items())
        super().__init__(f"workflow run {run_id} failed in {len(self.errors)} node(s): {detail}")


# --- providers and agents -----------------------------------------------------------------


class ProviderError(KaizenError):
    """A provider call failed; `provider` and `url` say where."""

    def __init__(self, message: str, *, provider: str = "", url: str | None = None) -> None:
        self.provider = provider
        self.url = url
        where = f" ({provider} at {url})" if url else (f" ({provider})" if provider else "")
        super().__init__(f"{message}{where}")


class ProviderNotFoundError(ProviderError, LookupError):
    """No provider is registered under the requested name."""


class ProviderConnectionError(ProviderError, ConnectionError):
    """The provider's server could not be reached."""


class ProviderTimeoutError(ProviderError, TimeoutError):
    """The provider did not answer within the configured timeout."""


class ModelNotFoundError(ProviderError, LookupError):
    """The server is up but does not serve the requested model."""


class ProviderNotAllowedError(ProviderError, PermissionError):
    """`register_provider` refused a factory not marked as real while
    `kaizen.providers.ALLOW_FAKE_PROVIDERS` is False (a test tier that must use real servers)."""


class ProviderResponseError(ProviderError):
    """The server answered with an error status or an unusable body."""

    def __init__(
        self, message: str, *, provider: str = "", url: str | None = None, status: int | None = None
    ) -> None:
        self.status = status
        super().__init__(message, provider=provider, url=url)


class AgentError(KaizenError):
    """Base for agent-level failures."""


class DuplicateAgentError(AgentError, ValueError):
    """An agent with this id already exists in the framework instance."""


class OutputValidationError(AgentError, SignatureValidationError):
    """The model's output failed validation after every retry; keeps each raw output."""

    def __init__(self, agent_id: str, attempts: Sequence[tuple[str, SignatureValidationError]]):
        self.agent_id = agent_id
        self.attempts = tuple(attempts)
        last_raw, last_error = self.attempts[-1]
        self.raw_output = last_raw
        SignatureValidationError.__init__(self, last_error.signature, last_error.errors, last_raw)
        self.args = (
            f"agent {agent_id!r}: model output invalid after {len(self.attempts)} attempt(s): "
            f"{'; '.join(map(str, last_error.errors))}; raw output: {last_raw!r}",
        )

    def __str__(self) -> str:
        return str(self.args[0])
