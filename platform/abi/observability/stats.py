"""Rolling latency statistics: throughput and percentiles over the last minute.

Each observation lands in a one-second slot as a count in a log-scaled latency bucket
(5% wide), so memory is bounded whatever the request rate and a percentile is exact to
within 5%. ``snapshot()`` merges the slots of the window.
"""

from __future__ import annotations

import math
import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

_RATIO = 1.05
_LOG_RATIO = math.log(_RATIO)
_FLOOR_SECONDS = 1e-6
PERCENTILES = (50, 90, 95, 99)


def _bucket(seconds: float) -> int:
    return max(0, int(math.log(max(seconds, _FLOOR_SECONDS) / _FLOOR_SECONDS) / _LOG_RATIO))


def _bucket_upper(index: int) -> float:
    return _FLOOR_SECONDS * _RATIO ** (index + 1)


@dataclass
class _Series:
    count: int = 0
    errors: int = 0
    total: float = 0.0
    peak: float = 0.0
    buckets: Counter[int] = field(default_factory=Counter)

    def add(self, seconds: float, error: bool) -> None:
        self.count += 1
        self.errors += error
        self.total += seconds
        self.peak = max(self.peak, seconds)
        self.buckets[_bucket(seconds)] += 1

    def merge(self, other: _Series) -> None:
        self.count += other.count
        self.errors += other.errors
        self.total += other.total
        self.peak = max(self.peak, other.peak)
        self.buckets.update(other.buckets)

    def summary(self, window: float) -> dict[str, Any]:
        out: dict[str, Any] = {
            "count": self.count,
            "errors": self.errors,
            "throughput_per_s": round(self.count / window, 3) if window > 0 else 0.0,
            "mean_ms": round(self.total / self.count * 1000, 3) if self.count else None,
            "max_ms": round(self.peak * 1000, 3) if self.count else None,
        }
        ranked = sorted(self.buckets.items())
        for pct in PERCENTILES:
            out[f"p{pct}_ms"] = _percentile(ranked, self.count, pct, self.peak)
        return out


def _percentile(ranked: list[tuple[int, int]], count: int, pct: int, peak: float) -> float | None:
    if count == 0:
        return None
    target = math.ceil(count * pct / 100)
    seen = 0
    for index, n in ranked:
        seen += n
        if seen >= target:
            return round(min(_bucket_upper(index), peak) * 1000, 3)
    return round(peak * 1000, 3)


class RollingStats:
    """Observations by key (a route, a plugin) over a sliding window of whole seconds."""

    def __init__(
        self,
        window_seconds: int = 60,
        max_keys: int = 512,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.window = window_seconds
        self.max_keys = max_keys
        self._clock = clock
        self._lock = threading.Lock()
        self._slots: dict[int, dict[str, _Series]] = {}
        self._started = clock()
        self.total = 0

    def record(self, key: str, seconds: float, *, error: bool = False) -> None:
        """Add one observation of ``seconds`` under ``key``."""
        second = int(self._clock())
        with self._lock:
            slot = self._slots.get(second)
            if slot is None:
                slot = self._slots[second] = {}
                self._expire(second)
            series = slot.get(key)
            if series is None:
                if len(slot) >= self.max_keys:
                    key = "(other)"
                series = slot.setdefault(key, _Series())
            series.add(seconds, error)
            self.total += 1

    def _expire(self, now: int) -> None:
        for second in [s for s in self._slots if s <= now - self.window]:
            del self._slots[second]

    def snapshot(self, top: int = 20) -> dict[str, Any]:
        """Totals over the window and the ``top`` keys by count."""
        now = self._clock()
        with self._lock:
            self._expire(int(now))
            slots = list(self._slots.values())
            merged: dict[str, _Series] = {}
            overall = _Series()
            for slot in slots:
                for key, series in slot.items():
                    merged.setdefault(key, _Series()).merge(series)
                    overall.merge(series)
        window = min(float(self.window), max(now - self._started, 1.0))
        ranked = sorted(merged.items(), key=lambda item: item[1].count, reverse=True)[:top]
        return {
            "window_seconds": round(window, 1),
            "overall": overall.summary(window),
            "by_key": {key: series.summary(window) for key, series in ranked},
            "total_since_start": self.total,
        }
