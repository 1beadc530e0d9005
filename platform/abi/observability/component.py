"""The ``observability`` component: tracing, live request statistics and the profiler."""

from __future__ import annotations

import contextlib
import os
import resource
import sys
import threading
import time
from typing import Any

from abi.config import Settings
from abi.observability.logs import install_log_correlation
from abi.observability.profiler import SamplingProfiler
from abi.observability.stats import RollingStats
from abi.observability.tracing import Tracing


class Observability:
    """Built first by the Platform; every other subsystem may report to it."""

    name = "observability"

    def __init__(self, settings: Settings) -> None:
        self.settings = settings.observability
        self.tracing = Tracing(self.settings)
        self.requests = RollingStats()
        """HTTP requests by ``METHOD /route``, fed by the server's request hook."""
        self.profiler = SamplingProfiler()
        self.started_at = time.time()
        self._stopped = False

    def start(self) -> None:
        if self._stopped:
            self.tracing = Tracing(self.settings)
            self._stopped = False
        install_log_correlation()
        self.tracing.activate()
        self.started_at = time.time()

    def stop(self) -> None:
        self.tracing.shutdown()
        self._stopped = True

    def health(self) -> dict[str, Any]:
        return {"ok": True, "otlp_export": self.tracing.exporting}

    def performance(self) -> dict[str, Any]:
        """Live figures of the HTTP layer, the trace buffer and the process."""
        return {
            "http": self.requests.snapshot(),
            "traces": self.tracing.buffer.stats(),
            "process": process_figures(self.started_at),
        }


def process_figures(started_at: float) -> dict[str, Any]:
    """Memory, CPU time, threads and uptime of this process."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    figures: dict[str, Any] = {
        "pid": os.getpid(),
        "python": sys.version.split()[0],
        "uptime_s": round(time.time() - started_at, 1),
        "cpu_user_s": round(usage.ru_utime, 3),
        "cpu_system_s": round(usage.ru_stime, 3),
        "max_rss_mib": round(usage.ru_maxrss / 1024, 1),
        "threads": threading.active_count(),
        "cpu_count": os.cpu_count(),
    }
    rss = _current_rss_bytes()
    if rss is not None:
        figures["rss_mib"] = round(rss / 2**20, 1)
    with contextlib.suppress(OSError):
        figures["open_fds"] = len(os.listdir("/proc/self/fd"))
    return figures


def _current_rss_bytes() -> int | None:
    try:
        with open("/proc/self/statm", encoding="ascii") as statm:
            return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
    except (OSError, ValueError, IndexError):
        return None
