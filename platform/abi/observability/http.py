"""The request hook: one ``http.request`` span and one latency sample per HTTP request.

It continues an incoming W3C ``traceparent``, binds the platform's tracer for the request
(so spans opened by the handler nest under it), names the route template, status and the
caller's tenant, and returns the trace id in the ``X-Trace-ID`` response header.
"""

from __future__ import annotations

import contextvars
import time
from dataclasses import dataclass

from opentelemetry import context as otel_context
from opentelemetry import trace
from opentelemetry.context import Context
from opentelemetry.trace import SpanKind, Status, StatusCode
from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator
from quart import Quart, Response, g, request

from abi.observability.component import Observability

TRACE_HEADER = "X-Trace-ID"
_G_KEY = "abi_request_trace"
_propagator = TraceContextTextMapPropagator()
_PROPAGATED = ("traceparent", "tracestate")


@dataclass
class _Open:
    span: trace.Span
    context_token: contextvars.Token[Context]
    started: float


def install(app: Quart, observability: Observability) -> None:
    """Trace and time every request ``app`` serves."""

    @app.before_request
    async def _open_span() -> None:
        observability.tracing.bind()
        carrier = {k: v for k in _PROPAGATED if (v := request.headers.get(k)) is not None}
        parent = _propagator.extract(carrier) if carrier else None
        span = observability.tracing.tracer.start_span(
            "http.request",
            context=parent,
            kind=SpanKind.SERVER,
            attributes={
                "http.request.method": request.method,
                "url.path": request.path,
                "network.protocol.version": request.http_version,
            },
        )
        token = otel_context.attach(trace.set_span_in_context(span))
        setattr(g, _G_KEY, _Open(span, token, time.perf_counter()))

    @app.before_websocket
    async def _bind_websocket() -> None:
        observability.tracing.bind()

    @app.after_request
    async def _close_span(response: Response) -> Response:
        opened: _Open | None = g.pop(_G_KEY, None)
        if opened is None:
            return response
        elapsed = time.perf_counter() - opened.started
        route = request.url_rule.rule if request.url_rule is not None else "unmatched"
        status = response.status_code
        span = opened.span
        span.set_attribute("http.route", route)
        span.set_attribute("http.response.status_code", status)
        principal = g.get("abi_principal")
        for attr, key in (("tenant_id", "abi.tenant_id"), ("client_id", "abi.client_id")):
            value = getattr(principal, attr, None)
            if isinstance(value, str):
                span.set_attribute(key, value)
        rid = g.get("request_id")
        if isinstance(rid, str):
            span.set_attribute("abi.request_id", rid)
        if status >= 500:
            span.set_status(Status(StatusCode.ERROR, f"HTTP {status}"))
        response.headers[TRACE_HEADER] = format(span.get_span_context().trace_id, "032x")
        span.end()
        otel_context.detach(opened.context_token)
        observability.requests.record(f"{request.method} {route}", elapsed, error=status >= 500)
        return response

    @app.teardown_request
    async def _teardown(exc: BaseException | None) -> None:
        opened: _Open | None = g.pop(_G_KEY, None)
        if opened is not None:  # the response never reached after_request
            if exc is not None:
                opened.span.record_exception(exc)
            opened.span.set_status(Status(StatusCode.ERROR, "request aborted"))
            opened.span.end()
            otel_context.detach(opened.context_token)
