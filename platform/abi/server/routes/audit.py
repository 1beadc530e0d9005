"""GET /api/v1/audit: the caller's tenant's audit log, newest first (tenant admins)."""

from __future__ import annotations

import asyncio
from datetime import datetime
from typing import Any

from pydantic import BaseModel, Field
from quart import Blueprint
from quart_schema import validate_querystring, validate_response

from abi.security.audit import MAX_QUERY_LIMIT
from abi.server.auth import current_principal, require_scope
from abi.server.context import current_platform

blueprint = Blueprint("audit", __name__, url_prefix="/api/v1")


class AuditQuery(BaseModel):
    action: str | None = Field(None, description="Exact action, or a prefix ending in '*'.")
    since: datetime | None = Field(None, description="ISO 8601 timestamp with a time zone.")
    limit: int = Field(100, ge=1, le=MAX_QUERY_LIMIT)
    before_id: int | None = Field(None, description="Page on: the last id of the previous page.")


class AuditEntryOut(BaseModel):
    id: int
    at: str
    actor: str
    action: str
    target: str
    outcome: str
    details: dict[str, Any]


class AuditPage(BaseModel):
    entries: list[AuditEntryOut]


@blueprint.get("/audit")
@require_scope("audit:read")
@validate_querystring(AuditQuery)
@validate_response(AuditPage)
async def audit_log(query_args: AuditQuery) -> AuditPage:
    """Security-relevant actions in the caller's tenant."""
    entries = await asyncio.to_thread(
        current_platform().security.audit.query,
        current_principal().tenant_id,
        action=query_args.action,
        since=query_args.since,
        limit=query_args.limit,
        before_id=query_args.before_id,
    )
    return AuditPage(
        entries=[
            AuditEntryOut(
                id=e.id,
                at=e.at.isoformat(),
                actor=e.actor,
                action=e.action,
                target=e.target,
                outcome=e.outcome,
                details=e.details,
            )
            for e in entries
        ]
    )
