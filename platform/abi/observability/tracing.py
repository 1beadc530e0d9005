"""OpenTelemetry tracing: the platform's tracer provider and the helpers subsystems call.

``span("plugin.call", tenant_id=..., plugin_id=...)`` opens a span on the tracer of the
platform serving the current request (or, outside a request, the most recently started
one); with no platform started it costs almost nothing and records nothing. Spans go to a
per-tenant ring buffer in memory (``observability.trace_buffer`` spans per tenant) and, only
when ``observability.otlp_endpoint`` is set, to an OTLP/HTTP collector. Nothing leaves the
machine by default.
"""

from __future__ import annotations

import contextvars
import logging
import os
import socket
import threading
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import Any

from opentelemetry import trace
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import SpanProcessor, TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor
from opentelemetry.sdk.trace.sampling import ALWAYS_ON
from opentelemetry.trace import Span, SpanKind, Status, StatusCode

from abi import __version__
from abi.config import ObservabilitySettings
from abi.errors import AbiError, ConfigError
from abi.observability.buffer import TENANT_ATTR, TenantTraceBuffer

log = logging.getLogger("abi.observability")

GENAI_OPERATIONS = frozenset({"invoke_agent", "execute_tool", "invoke_workflow", "chat"})
"""Span names that follow the OpenTelemetry GenAI conventions (``gen_ai.operation.name``)."""
SPAN_NAMES = GENAI_OPERATIONS | {"plugin.call", "vectors.search", "vectors.upsert", "http.request"}
"""The span names Abi's subsystems use (others are allowed)."""

AttrValue = str | bool | int | float
_INVALID = trace.INVALID_SPAN

_bound: contextvars.ContextVar[Tracing | None] = contextvars.ContextVar("abi_tracing", default=None)
_active: list[Tracing] = []
_active_lock = threading.Lock()


class Tracing:
    """One platform's tracer provider, ring buffer and optional OTLP exporter."""

    def __init__(self, settings: ObservabilitySettings) -> None:
        self.settings = settings
        self.buffer = TenantTraceBuffer(settings.trace_buffer)
        resource = Resource.create(
            {
                "service.name": "abi",
                "service.version": __version__,
                "service.instance.id": f"{socket.gethostname()}:{os.getpid()}",
            }
        )
        self.provider = TracerProvider(sampler=ALWAYS_ON, resource=resource)
        self.provider.add_span_processor(self.buffer)
        self.exporting = False
        if settings.otlp_endpoint:
            self.provider.add_span_processor(_otlp_processor(settings.otlp_endpoint))
            self.exporting = True
        self.tracer = self.provider.get_tracer("abi", __version__)

    def activate(self) -> None:
        """Make this the tracer that ``span()`` uses outside any bound context."""
        with _active_lock:
            _active.append(self)

    def deactivate(self) -> None:
        """Undo :meth:`activate`."""
        with _active_lock:
            if self in _active:
                _active.remove(self)

    def bind(self) -> contextvars.Token[Tracing | None]:
        """Use this tracer for ``span()`` calls in the current context (one request)."""
        return _bound.set(self)

    def shutdown(self) -> None:
        """Deactivate and flush and close the span processors."""
        self.deactivate()
        self.provider.shutdown()


def _otlp_processor(endpoint: str) -> SpanProcessor:
    try:
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
    except ImportError as exc:
        raise ConfigError(
            "observability.otlp_endpoint is set but the OTLP exporter is not installed; "
            "install it with pip install 'abi[otlp]' or unset the endpoint",
            key="observability.otlp_endpoint",
        ) from exc
    url = endpoint.rstrip("/")
    if not url.endswith("/v1/traces"):
        url += "/v1/traces"
    return BatchSpanProcessor(OTLPSpanExporter(endpoint=url))


def current_tracing() -> Tracing | None:
    """The tracer serving the current context: the request's, else the latest started."""
    bound = _bound.get()
    if bound is not None:
        return bound
    with _active_lock:
        return _active[-1] if _active else None


def _attributes(
    name: str, tenant_id: str | None, attrs: Mapping[str, Any], extra: Mapping[str, Any] | None
) -> dict[str, AttrValue]:
    out: dict[str, AttrValue] = {}
    if name in GENAI_OPERATIONS:
        out["gen_ai.operation.name"] = name
    if tenant_id is not None:
        out[TENANT_ATTR] = tenant_id
    for key, value in {**attrs, **(extra or {})}.items():
        if value is None:
            continue
        out[key if "." in key else f"abi.{key}"] = (
            value if isinstance(value, str | bool | int | float) else str(value)
        )
    return out


@contextmanager
def span(
    name: str,
    *,
    tenant_id: str | None = None,
    kind: SpanKind = SpanKind.INTERNAL,
    attributes: Mapping[str, Any] | None = None,
    **attrs: Any,
) -> Iterator[Span]:
    """Open a span named ``name`` as a child of the current one and yield it.

    Keyword attributes are stored as ``abi.<key>`` (``plugin_id=`` -> ``abi.plugin_id``);
    ``attributes`` takes dotted names as they are (``{"gen_ai.agent.name": ...}``); ``None``
    values are left out. An exception marks the span as an error (with the AbiError code,
    when it is one) and propagates. Without a started platform this yields a no-op span.
    """
    tracing = current_tracing()
    if tracing is None:
        yield _INVALID
        return
    with tracing.tracer.start_as_current_span(
        name,
        kind=kind,
        attributes=_attributes(name, tenant_id, attrs, attributes),
        record_exception=False,
        set_status_on_exception=False,
    ) as current:
        try:
            yield current
        except BaseException as exc:
            mark_error(current, exc)
            raise


def mark_error(target: Span, exc: BaseException) -> None:
    """Record ``exc`` on ``target`` and set its status to error."""
    if isinstance(exc, AbiError):
        target.set_attribute("abi.error.code", exc.code)
    target.record_exception(exc)
    target.set_status(Status(StatusCode.ERROR, f"{type(exc).__name__}: {exc}"[:500]))


def annotate(**attrs: Any) -> None:
    """Add attributes to the current span (``abi.<key>``), e.g. usage figures after a call."""
    current = trace.get_current_span()
    if current.is_recording():
        for key, value in _attributes("", None, attrs, None).items():
            current.set_attribute(key, value)


def current_trace_id() -> str | None:
    """The current trace id as 32 hex digits, or None outside any span."""
    context = trace.get_current_span().get_span_context()
    return format(context.trace_id, "032x") if context.is_valid else None
