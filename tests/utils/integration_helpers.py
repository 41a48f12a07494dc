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

This module re-exports the parts, one concept each, in `tests/utils/_integration/`:
`polling` (wait_for_condition), `results` (workflow and coordination results), `suites`
(the base classes), `proxies` (TcpFaultProxy, LLMOutputCorrupter), `simulator`
(ErrorSimulator).
"""

from __future__ import annotations

from tests.utils._integration.polling import (
    ConditionTimeout,
    wait_for_condition,
    wait_for_condition_async,
)
from tests.utils._integration.proxies import (
    CorruptFn,
    FaultError,
    LLMOutputCorrupter,
    TcpFaultProxy,
)
from tests.utils._integration.results import (
    CoordinationExecutionResult,
    WorkflowExecutionResult,
    execute_workflow,
    execute_workflow_sync,
    validate_workflow_execution,
)
from tests.utils._integration.results import (
    _judge as _judge,  # private, used by its unit tests
)
from tests.utils._integration.simulator import ErrorSimulator
from tests.utils._integration.simulator import _stop_signal_for as _stop_signal_for
from tests.utils._integration.suites import (
    IntegrationTestSuite,
    MultiAgentCoordinationTestSuite,
)

__all__ = [
    "ConditionTimeout",
    "CoordinationExecutionResult",
    "CorruptFn",
    "ErrorSimulator",
    "FaultError",
    "IntegrationTestSuite",
    "LLMOutputCorrupter",
    "MultiAgentCoordinationTestSuite",
    "TcpFaultProxy",
    "WorkflowExecutionResult",
    "execute_workflow",
    "execute_workflow_sync",
    "validate_workflow_execution",
    "wait_for_condition",
    "wait_for_condition_async",
]
