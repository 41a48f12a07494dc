"""Audit and compliance: an append-only, hash-chained trail (in PostgreSQL or in process)
and a compliance report computed from its evidence."""

from kaizen.audit.compliance import (
    CompliancePolicy,
    ComplianceReport,
    ControlResult,
    generate_compliance_report,
)
from kaizen.audit.entry import GENESIS_HASH, AuditEntry
from kaizen.audit.errors import AuditError, AuditIntegrityError, AuditWriteError
from kaizen.audit.postgres import PostgresAuditStore
from kaizen.audit.store import AuditStore, ChainHead, InMemoryAuditStore
from kaizen.audit.trail import (
    AGENT_RUN,
    CONFIG_CHANGE,
    COORDINATION,
    WORKFLOW_EXECUTION,
    AuditProblem,
    AuditTrail,
    VerificationReport,
)

__all__ = [
    "AGENT_RUN",
    "CONFIG_CHANGE",
    "COORDINATION",
    "GENESIS_HASH",
    "WORKFLOW_EXECUTION",
    "AuditEntry",
    "AuditError",
    "AuditIntegrityError",
    "AuditProblem",
    "AuditStore",
    "AuditTrail",
    "AuditWriteError",
    "ChainHead",
    "CompliancePolicy",
    "ComplianceReport",
    "ControlResult",
    "InMemoryAuditStore",
    "PostgresAuditStore",
    "VerificationReport",
    "generate_compliance_report",
]
