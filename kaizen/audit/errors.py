"""Typed audit errors: a failed write and a broken chain are different problems."""

from __future__ import annotations

from typing import TYPE_CHECKING

from kaizen._redact import redact
from kaizen.errors import KaizenError

if TYPE_CHECKING:
    from kaizen.audit.trail import AuditProblem


class AuditError(KaizenError):
    """Base of audit failures. The message is redacted: it may quote the store's DSN."""

    def __init__(self, message: str = "") -> None:
        super().__init__(redact(message))


class AuditWriteError(AuditError):
    """An entry could not be committed. Nothing of it was stored (the write is one
    transaction); the caller decides whether to retry."""


class AuditIntegrityError(AuditError):
    """`verify()` found the trail edited, truncated or reordered; `problems` names each."""

    def __init__(self, problems: tuple[AuditProblem, ...]) -> None:
        self.problems = problems
        detail = "; ".join(str(p) for p in problems[:5])
        more = f" (+{len(problems) - 5} more)" if len(problems) > 5 else ""
        super().__init__(f"audit trail integrity check failed: {detail}{more}")
