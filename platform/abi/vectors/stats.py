"""Per-collection counters and latency percentiles (a bounded window of recent calls)."""

from __future__ import annotations

import threading
from collections import deque
from typing import Any

import numpy as np

WINDOW = 2048


class OpStats:
    """Calls, items and recent latencies of one operation."""

    def __init__(self) -> None:
        self.calls = 0
        self.items = 0
        self.latencies: deque[float] = deque(maxlen=WINDOW)
        self._lock = threading.Lock()

    def record(self, seconds: float, items: int = 1) -> None:
        with self._lock:
            self.calls += 1
            self.items += items
            self.latencies.append(seconds)

    def summary(self) -> dict[str, Any]:
        with self._lock:
            recent = np.asarray(self.latencies, dtype=np.float64) * 1000.0
            calls, items = self.calls, self.items
        out: dict[str, Any] = {"calls": calls, "items": items}
        if len(recent):
            p50, p95, p99 = np.percentile(recent, [50, 95, 99])
            out.update(
                p50_ms=round(float(p50), 3),
                p95_ms=round(float(p95), 3),
                p99_ms=round(float(p99), 3),
            )
        return out
