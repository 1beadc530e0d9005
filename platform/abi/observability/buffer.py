"""An in-memory ring of recent traces per tenant, fed by an OpenTelemetry span processor.

Spans are grouped by their *local root* (the outermost span this process started for a
request or a background job). When the local root ends, the group is filed under its
tenant: the root's ``abi.tenant_id`` attribute, or the one tenant its spans name. A group
that names no tenant, or more than one without a tenanted root, is dropped: a trace is only
ever shown to the tenant it belongs to. Each tenant keeps at most ``capacity`` spans; the
oldest traces are evicted first.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from dataclasses import dataclass, field
from typing import Any

from opentelemetry.context import Context
from opentelemetry.sdk.trace import ReadableSpan, Span, SpanProcessor
from opentelemetry.trace import StatusCode, get_current_span

TENANT_ATTR = "abi.tenant_id"
MAX_SPANS_PER_TRACE = 1000
"""Spans kept per trace; later ones are counted in ``dropped_spans``."""
MAX_PENDING_GROUPS = 4096
"""Local-root groups still open; beyond it the oldest open group is discarded."""
MAX_TENANTS = 256
"""Tenants with a buffer; the least recently written tenant's buffer is discarded first."""


@dataclass
class _Group:
    spans: list[ReadableSpan] = field(default_factory=list)
    dropped: int = 0


@dataclass
class _Trace:
    trace_id: str
    spans: list[ReadableSpan] = field(default_factory=list)
    dropped: int = 0


@dataclass
class _TenantRing:
    traces: OrderedDict[str, _Trace] = field(default_factory=OrderedDict)
    spans: int = 0


def _hex_trace(trace_id: int) -> str:
    return format(trace_id, "032x")


def _hex_span(span_id: int) -> str:
    return format(span_id, "016x")


class TenantTraceBuffer(SpanProcessor):
    """A span processor that keeps each tenant's most recent traces in memory."""

    def __init__(self, capacity: int) -> None:
        self.capacity = capacity
        self._lock = threading.Lock()
        self._root_of: dict[int, int] = {}
        self._pending: OrderedDict[tuple[int, int], _Group] = OrderedDict()
        self._filed: OrderedDict[tuple[int, int], str] = OrderedDict()
        """(trace id, local root) -> tenant, for spans that end after their root."""
        self._tenants: OrderedDict[str, _TenantRing] = OrderedDict()
        self.dropped_untenanted = 0

    # -- SpanProcessor ---------------------------------------------------------------------

    def on_start(self, span: Span, parent_context: Context | None = None) -> None:
        own = span.get_span_context().span_id
        parent = get_current_span(parent_context).get_span_context()
        with self._lock:
            root = own
            if parent.is_valid and not parent.is_remote:
                root = self._root_of.get(parent.span_id, own)
            self._root_of[own] = root
            if len(self._root_of) > MAX_PENDING_GROUPS * 64:
                self._root_of.pop(next(iter(self._root_of)))

    def on_end(self, span: ReadableSpan) -> None:
        context = span.get_span_context()
        if context is None:
            return
        with self._lock:
            root = self._root_of.pop(context.span_id, context.span_id)
            key = (context.trace_id, root)
            filed_under = self._filed.get(key)
            if filed_under is not None:  # a late child of a root that has already ended
                self._append(filed_under, context.trace_id, _Group([span]))
                return
            group = self._pending.get(key)
            if group is None:
                group = self._pending[key] = _Group()
                if len(self._pending) > MAX_PENDING_GROUPS:
                    self._pending.popitem(last=False)
            if len(group.spans) < MAX_SPANS_PER_TRACE:
                group.spans.append(span)
            else:
                group.dropped += 1
            if root == context.span_id:
                del self._pending[key]
                self._file(context.trace_id, span, group)

    def shutdown(self) -> None:
        with self._lock:
            self._pending.clear()
            self._root_of.clear()
            self._filed.clear()

    def force_flush(self, timeout_millis: int = 30000) -> bool:
        return True

    # -- filing and eviction ---------------------------------------------------------------

    def _file(self, trace_id: int, root: ReadableSpan, group: _Group) -> None:
        tenant = _tenant_of(root, group.spans)
        if tenant is None or self.capacity <= 0:
            self.dropped_untenanted += tenant is None
            return
        context = root.get_span_context()
        if context is not None:
            self._filed[(trace_id, context.span_id)] = tenant
            if len(self._filed) > MAX_PENDING_GROUPS:
                self._filed.popitem(last=False)
        self._append(tenant, trace_id, group)

    def _append(self, tenant: str, trace_id: int, group: _Group) -> None:
        ring = self._tenants.get(tenant)
        if ring is None:
            ring = self._tenants[tenant] = _TenantRing()
            if len(self._tenants) > MAX_TENANTS:
                self._tenants.popitem(last=False)
        else:
            self._tenants.move_to_end(tenant)
        hex_id = _hex_trace(trace_id)
        trace = ring.traces.get(hex_id)
        if trace is None:
            trace = ring.traces[hex_id] = _Trace(hex_id)
        else:
            ring.traces.move_to_end(hex_id)
        room = max(0, MAX_SPANS_PER_TRACE - len(trace.spans))
        trace.spans.extend(group.spans[:room])
        trace.dropped += group.dropped + max(0, len(group.spans) - room)
        ring.spans += min(room, len(group.spans))
        while ring.spans > self.capacity and len(ring.traces) > 1:
            _, evicted = ring.traces.popitem(last=False)
            ring.spans -= len(evicted.spans)

    # -- reading ---------------------------------------------------------------------------

    def traces(self, tenant_id: str, limit: int = 50) -> list[dict[str, Any]]:
        """Summaries of the tenant's most recent traces, newest first."""
        with self._lock:
            ring = self._tenants.get(tenant_id)
            recent = list(ring.traces.values())[-limit:] if ring and limit > 0 else []
        return [_summary(trace) for trace in reversed(recent)]

    def trace(self, tenant_id: str, trace_id: str) -> dict[str, Any] | None:
        """One of the tenant's traces with every span, or None if it is not buffered."""
        with self._lock:
            ring = self._tenants.get(tenant_id)
            trace = ring.traces.get(trace_id.lower()) if ring else None
            spans = list(trace.spans) if trace else []
        if trace is None:
            return None
        ordered = sorted(spans, key=lambda s: s.start_time or 0)
        return {**_summary(trace), "spans": [span_dict(s) for s in ordered]}

    def stats(self) -> dict[str, int]:
        """Counts of tenants, traces and spans held, pending groups and dropped spans."""
        with self._lock:
            return {
                "tenants": len(self._tenants),
                "traces": sum(len(r.traces) for r in self._tenants.values()),
                "spans": sum(r.spans for r in self._tenants.values()),
                "pending_groups": len(self._pending),
                "dropped_untenanted": self.dropped_untenanted,
                "capacity_per_tenant": self.capacity,
            }


def _tenant_of(root: ReadableSpan, spans: list[ReadableSpan]) -> str | None:
    own = (root.attributes or {}).get(TENANT_ATTR)
    if isinstance(own, str):
        return own
    named = {
        value
        for span in spans
        if isinstance(value := (span.attributes or {}).get(TENANT_ATTR), str)
    }
    return named.pop() if len(named) == 1 else None


def _ms(start_ns: int | None, end_ns: int | None) -> float:
    if start_ns is None or end_ns is None:
        return 0.0
    return round((end_ns - start_ns) / 1e6, 3)


def _summary(trace: _Trace) -> dict[str, Any]:
    spans = trace.spans
    ids = {c.span_id for s in spans if (c := s.get_span_context()) is not None}
    roots = [s for s in spans if s.parent is None or s.parent.span_id not in ids]
    root = min(roots or spans, key=lambda s: s.start_time or 0)
    start = min((s.start_time or 0) for s in spans)
    end = max((s.end_time or 0) for s in spans)
    attrs = root.attributes or {}
    label = root.name
    if "http.route" in attrs:
        label = f"{root.name} {attrs.get('http.request.method')!s} {attrs['http.route']!s}"
    return {
        "trace_id": trace.trace_id,
        "root": label,
        "start_unix_ms": round(start / 1e6, 3),
        "duration_ms": _ms(start, end),
        "span_count": len(spans),
        "dropped_spans": trace.dropped,
        "error": any(s.status.status_code is StatusCode.ERROR for s in spans),
    }


def span_dict(span: ReadableSpan) -> dict[str, Any]:
    """A JSON-ready view of one finished span."""
    context = span.get_span_context()
    return {
        "span_id": _hex_span(context.span_id) if context else None,
        "parent_span_id": _hex_span(span.parent.span_id) if span.parent else None,
        "name": span.name,
        "kind": span.kind.name.lower(),
        "start_unix_ms": round((span.start_time or 0) / 1e6, 3),
        "duration_ms": _ms(span.start_time, span.end_time),
        "status": span.status.status_code.name.lower(),
        "status_message": span.status.description,
        "attributes": dict(span.attributes or {}),
        "events": [
            {
                "name": event.name,
                "unix_ms": round(event.timestamp / 1e6, 3),
                "attributes": dict(event.attributes or {}),
            }
            for event in span.events
        ],
    }
