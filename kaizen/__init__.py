"""Kaizen: signature-based AI agents on a small workflow core.

Public names load on first access, so `import kaizen` costs almost nothing.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

_EXPORTS: dict[str, str] = {
    "Kaizen": "kaizen.framework",
    "KaizenConfig": "kaizen.config",
    "AgentConfig": "kaizen.config",
    "Agent": "kaizen.agent",
    "AgentResult": "kaizen.agent",
    "Usage": "kaizen.agent",
    "Signature": "kaizen.signatures",
    "InputField": "kaizen.signatures",
    "OutputField": "kaizen.signatures",
    "compile_signature": "kaizen.signatures",
    "WorkflowBuilder": "kaizen.workflow",
    "Workflow": "kaizen.workflow",
    "LocalRuntime": "kaizen.workflow",
    "AsyncLocalRuntime": "kaizen.workflow",
    "register_node": "kaizen.workflow",
    "Node": "kaizen.workflow",
    "register_provider": "kaizen.providers",
    "Tool": "kaizen.tools",
    "tool": "kaizen.tools",
}
_ERRORS = (
    "KaizenError",
    "ConfigurationError",
    "SignatureError",
    "SignatureParseError",
    "SignatureValidationError",
    "FieldError",
    "WorkflowValidationError",
    "UnknownNodeTypeError",
    "NodeExecutionError",
    "OutputPathError",
    "WorkflowExecutionError",
    "ProviderError",
    "ProviderNotFoundError",
    "ProviderNotAllowedError",
    "ProviderConnectionError",
    "ProviderTimeoutError",
    "ModelNotFoundError",
    "ProviderResponseError",
    "AgentError",
    "DuplicateAgentError",
    "OutputValidationError",
)
_EXPORTS.update(dict.fromkeys(_ERRORS, "kaizen.errors"))

__all__ = sorted(_EXPORTS)

if TYPE_CHECKING:  # pragma: no cover
    from kaizen.agent import Agent, AgentResult, Usage
    from kaizen.config import AgentConfig, KaizenConfig
    from kaizen.errors import *
    from kaizen.framework import Kaizen
    from kaizen.providers import register_provider
    from kaizen.signatures import InputField, OutputField, Signature, compile_signature
    from kaizen.tools import Tool, tool
    from kaizen.workflow import (
        AsyncLocalRuntime,
        LocalRuntime,
        Node,
        Workflow,
        WorkflowBuilder,
        register_node,
    )


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'kaizen' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return [*__all__, "__version__"]
