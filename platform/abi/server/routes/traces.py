"""GET /api/v1/traces: the caller's tenant's recent traces, from the in-memory ring buffer."""

from __future__ import annotations

import re
from typing import Any

from pydantic import BaseModel, Field
from quart import Blueprint
from quart_schema import validate_querystring, validate_response

from abi.errors import Forbidden, InvalidInput, NotFound
from abi.server.auth import current_principal, require_scope
from abi.server.context import current_platform

blueprint = Blueprint("traces", __name__, url_prefix="/api/v1/traces")

_TRACE_ID = re.compile(r"^[0-9a-fA-F]{32}$")


class TraceQuery(BaseModel):
    limit: int = Field(50, ge=1, le=1000)
    tenant_id: str | None = Field(None, description="Another tenant's traces (platform admins).")


class TraceSummary(BaseModel):
    trace_id: str
    root: str
    start_unix_ms: float
    duration_ms: float
    span_count: int
    dropped_spans: int
    error: bool


class TraceList(BaseModel):
    traces: list[TraceSummary]


class SpanOut(BaseModel):
    span_id: str | None
    parent_span_id: str | None
    name: str
    kind: str
    start_unix_ms: float
    duration_ms: float
    status: str
    status_message: str | None
    attributes: dict[str, Any]
    events: list[dict[str, Any]]


class TraceOut(TraceSummary):
    spans: list[SpanOut]


def _tenant(requested: str | None) -> str:
    principal = current_principal()
    if requested is None:
        return principal.tenant_id
    if not principal.can_act_on(requested):
        raise Forbidden(
            "only platform admins may read another tenant's traces",
            code="traces.forbidden",
        )
    return requested


@blueprint.get("")
@require_scope("traces:read")
@validate_querystring(TraceQuery)
@validate_response(TraceList)
async def list_traces(query_args: TraceQuery) -> TraceList:
    """The tenant's most recent traces, newest first (kept in memory by this server)."""
    buffer = current_platform().observability.tracing.buffer
    found = buffer.traces(_tenant(query_args.tenant_id), query_args.limit)
    return TraceList(traces=[TraceSummary(**t) for t in found])


class TraceLookup(BaseModel):
    tenant_id: str | None = Field(None, description="Another tenant's trace (platform admins).")


@blueprint.get("/<trace_id>")
@require_scope("traces:read")
@validate_querystring(TraceLookup)
@validate_response(TraceOut)
async def get_trace(trace_id: str, query_args: TraceLookup) -> TraceOut:
    """Every span of one of the tenant's recent traces."""
    if not _TRACE_ID.match(trace_id):
        raise InvalidInput(
            "a trace id is 32 hexadecimal digits (the X-Trace-ID response header)",
            code="traces.invalid_id",
        )
    buffer = current_platform().observability.tracing.buffer
    found = buffer.trace(_tenant(query_args.tenant_id), trace_id)
    if found is None:
        raise NotFound(
            f"trace {trace_id} is not in this tenant's recent traces (the buffer keeps "
            "the most recent ones per tenant, on the server that handled the request)",
            code="traces.not_found",
        )
    return TraceOut(**found)
