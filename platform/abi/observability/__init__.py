"""Tracing (OpenTelemetry), live performance figures and on-demand profiling.

Subsystems call :func:`span` around their units of work (``plugin.call``,
``vectors.search``, ``invoke_agent``, ``execute_tool``, ``invoke_workflow``) and
:func:`current_trace_id` to put the trace id in their results and logs.
"""

from abi.observability.component import Observability
from abi.observability.tracing import (
    GENAI_OPERATIONS,
    SPAN_NAMES,
    annotate,
    current_trace_id,
    current_tracing,
    mark_error,
    span,
)

__all__ = [
    "GENAI_OPERATIONS",
    "SPAN_NAMES",
    "Observability",
    "annotate",
    "current_trace_id",
    "current_tracing",
    "mark_error",
    "span",
]
