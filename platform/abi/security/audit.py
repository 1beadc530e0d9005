"""The audit log: who did what to which object, per tenant.

Subsystems call :meth:`AuditLog.record` for security-relevant actions (token issues, client
and key changes, grants, installs, deletions); tenant admins read their tenant's entries with
:meth:`AuditLog.query`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa

from abi.errors import InvalidInput
from abi.security.tables import audit_log
from abi.store import Database, TenantScope
from abi.store.types import utcnow

MAX_QUERY_LIMIT = 1000


@dataclass(frozen=True)
class AuditEntry:
    id: int
    tenant_id: str
    at: datetime
    actor: str
    action: str
    target: str
    outcome: str
    details: dict[str, Any]

    def to_dict(self) -> dict[str, Any]:
        return {**self.__dict__, "at": self.at.isoformat()}


class AuditLog:
    """Append-only security log in the metadata store."""

    def __init__(self, db: Database) -> None:
        self.db = db

    def record(
        self,
        tenant_id: str,
        action: str,
        *,
        actor: str,
        target: str = "",
        outcome: str = "ok",
        **details: Any,
    ) -> None:
        """Append one entry, e.g. ``record(t, "plugin.install", actor=client_id, target=name)``."""
        if not action:
            raise InvalidInput("audit action must be a non-empty string")
        with self.db.begin() as conn:
            TenantScope(tenant_id).insert(
                conn,
                audit_log,
                {
                    "at": utcnow(),
                    "actor": actor,
                    "action": action,
                    "target": target,
                    "outcome": outcome,
                    "details": details,
                },
            )

    def query(
        self,
        tenant_id: str,
        *,
        action: str | None = None,
        since: datetime | None = None,
        limit: int = 100,
        before_id: int | None = None,
    ) -> list[AuditEntry]:
        """The tenant's entries, newest first; ``action`` may end in ``*`` to match a prefix."""
        if not 1 <= limit <= MAX_QUERY_LIMIT:
            raise InvalidInput(f"limit must be between 1 and {MAX_QUERY_LIMIT}, got {limit}")
        clauses: list[sa.ColumnElement[bool]] = []
        if action:
            if action.endswith("*"):
                clauses.append(audit_log.c.action.startswith(action[:-1], autoescape=True))
            else:
                clauses.append(audit_log.c.action == action)
        if since is not None:
            clauses.append(audit_log.c.at >= since)
        if before_id is not None:
            clauses.append(audit_log.c.id < before_id)
        with self.db.begin() as conn:
            rows = TenantScope(tenant_id).all(
                conn, audit_log, *clauses, order_by=[audit_log.c.id.desc()], limit=limit
            )
        return [AuditEntry(**row) for row in rows]
