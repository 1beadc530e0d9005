"""Rolling request statistics: counts, percentiles within 5%, and the sliding window."""

from __future__ import annotations

import pytest

from abi.observability.stats import RollingStats


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_percentiles_are_within_five_percent() -> None:
    clock = FakeClock()
    stats = RollingStats(clock=clock)
    for ms in range(1, 101):
        stats.record("GET /x", ms / 1000)
    clock.now += 10
    overall = stats.snapshot()["overall"]
    assert overall["count"] == 100
    assert overall["p50_ms"] == pytest.approx(50, rel=0.05)
    assert overall["p99_ms"] == pytest.approx(99, rel=0.05)
    assert overall["max_ms"] == pytest.approx(100)
    assert overall["mean_ms"] == pytest.approx(50.5)


def test_throughput_is_count_over_the_window() -> None:
    clock = FakeClock()
    stats = RollingStats(window_seconds=60, clock=clock)
    clock.now += 60
    for _ in range(120):
        stats.record("GET /x", 0.001)
    assert stats.snapshot()["overall"]["throughput_per_s"] == pytest.approx(2.0)


def test_observations_leave_the_window() -> None:
    clock = FakeClock()
    stats = RollingStats(window_seconds=10, clock=clock)
    stats.record("GET /old", 0.001)
    clock.now += 11
    stats.record("GET /new", 0.001)
    snapshot = stats.snapshot()
    assert list(snapshot["by_key"]) == ["GET /new"]
    assert snapshot["total_since_start"] == 2


def test_errors_are_counted_per_key() -> None:
    stats = RollingStats(clock=FakeClock())
    stats.record("POST /y", 0.01, error=True)
    stats.record("POST /y", 0.01)
    assert stats.snapshot()["by_key"]["POST /y"]["errors"] == 1


def test_keys_past_the_limit_are_pooled() -> None:
    stats = RollingStats(max_keys=2, clock=FakeClock())
    for key in ("a", "b", "c", "d"):
        stats.record(key, 0.001)
    assert set(stats.snapshot()["by_key"]) == {"a", "b", "(other)"}


def test_an_empty_window_has_no_percentiles() -> None:
    overall = RollingStats(clock=FakeClock()).snapshot()["overall"]
    assert overall["count"] == 0
    assert overall["p50_ms"] is None
