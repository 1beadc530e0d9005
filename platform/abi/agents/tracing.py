"""Trace and span ids for agent queries and workflow runs (W3C trace-context format).

A query or run gets a trace id (32 hex digits) unless the caller passed one (a
``traceparent`` header or an explicit id); every step gets a span id (16 hex digits). The
ids are returned with every answer and recorded with every workflow step.
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Iterator
from contextlib import contextmanager

from opentelemetry import context as otel_context
from opentelemetry import trace

_TRACE_ID = re.compile(r"^[0-9a-f]{32}$")
_TRACEPARENT = re.compile(r"^00-([0-9a-f]{32})-([0-9a-f]{16})-[0-9a-f]{2}$")


def new_trace_id() -> str:
    return secrets.token_hex(16)


def new_span_id() -> str:
    return secrets.token_hex(8)


def trace_id_from(value: str | None) -> str:
    """The trace id in ``value`` (a bare trace id or a ``traceparent``), else a new one."""
    if value:
        value = value.strip().lower()
        if _TRACE_ID.match(value) and value != "0" * 32:
            return value
        match = _TRACEPARENT.match(value)
        if match and match.group(1) != "0" * 32:
            return match.group(1)
    return new_trace_id()


def traceparent(trace_id: str, span_id: str) -> str:
    """The ``traceparent`` header value that propagates ``trace_id`` to an outbound call."""
    return f"00-{trace_id}-{span_id}-01"


@contextmanager
def trace_scope(trace_id: str) -> Iterator[None]:
    """Make ``trace_id`` the current trace for the spans opened inside (OpenTelemetry):
    unless the current span already belongs to it, a remote parent with that trace id is
    attached, so the platform's spans and the ids returned to callers agree."""
    current = trace.get_current_span().get_span_context()
    if current.is_valid and format(current.trace_id, "032x") == trace_id:
        yield
        return
    parent = trace.NonRecordingSpan(
        trace.SpanContext(
            trace_id=int(trace_id, 16),
            span_id=int(new_span_id(), 16),
            is_remote=True,
            trace_flags=trace.TraceFlags(trace.TraceFlags.SAMPLED),
        )
    )
    token = otel_context.attach(trace.set_span_in_context(parent))
    try:
        yield
    finally:
        otel_context.detach(token)


def current_span_id() -> str | None:
    """The current OpenTelemetry span id (16 hex digits), or None outside any span."""
    current = trace.get_current_span().get_span_context()
    return format(current.span_id, "016x") if current.is_valid else None
