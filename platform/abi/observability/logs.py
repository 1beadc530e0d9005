"""Trace ids in log records: every record gets ``trace_id`` and ``span_id`` attributes
(``None`` outside a span), so a formatter can print ``%(trace_id)s``."""

from __future__ import annotations

import logging
import threading
from typing import Any

from opentelemetry import trace

_lock = threading.Lock()
_installed = False


def install_log_correlation() -> None:
    """Wrap the process's log record factory once (idempotent)."""
    global _installed  # noqa: PLW0603 - the log record factory is process-wide state
    with _lock:
        if _installed:
            return
        previous = logging.getLogRecordFactory()

        def factory(*args: Any, **kwargs: Any) -> logging.LogRecord:
            record = previous(*args, **kwargs)
            context = trace.get_current_span().get_span_context()
            record.trace_id = format(context.trace_id, "032x") if context.is_valid else None
            record.span_id = format(context.span_id, "016x") if context.is_valid else None
            return record

        logging.setLogRecordFactory(factory)
        _installed = True
