"""Test doubles for the UNIT tier only (the tier plugin rejects them in integration/e2e).

- `MockLLMProvider` (`llm`): the one fake LLM, a real `kaizen.providers.Provider` with
  schema-derived, scripted and function modes, tool calls, and faults (`faults`);
- `MockMemoryProvider`, `MockDatabaseProvider`, `MockSignatureCompiler`, `MockAuditLogger`
  (`backends`): recording, fault-injecting layers over kaizen's own in-memory backends;
- `Call`/`CallLog` (`_calls`): the call log they all share.

Schema samples come from the toolkit's one JSON-Schema sampler, `tests/utils/_schema_sample.py`.
"""

from tests.utils._schema_sample import UnsupportedSchemaError

from ._calls import Call, CallLog, MockProviderError
from .backends import (
    MockAuditLogger,
    MockDatabaseProvider,
    MockMemoryProvider,
    MockSignatureCompiler,
)
from .faults import (
    Fault,
    MalformedJSONFault,
    MockRateLimitError,
    RateLimitFault,
    TimeoutFault,
    TruncatedStreamFault,
)
from .llm import MockLLMProvider, ScriptExhausted, UnmatchedPrompt

__all__ = [
    "Call",
    "CallLog",
    "Fault",
    "MalformedJSONFault",
    "MockAuditLogger",
    "MockDatabaseProvider",
    "MockLLMProvider",
    "MockMemoryProvider",
    "MockProviderError",
    "MockRateLimitError",
    "MockSignatureCompiler",
    "RateLimitFault",
    "ScriptExhausted",
    "TimeoutFault",
    "TruncatedStreamFault",
    "UnmatchedPrompt",
    "UnsupportedSchemaError",
]
