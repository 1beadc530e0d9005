"""The load test's summary (load/summary.py): figures from locust's final JSON statistics."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

LOAD = Path(__file__).resolve().parents[2] / "load"
sys.path.insert(0, str(LOAD))

from summary import summarize  # noqa: E402


def _entry(name: str, times: dict[str, int], failures: int = 0) -> dict[str, Any]:
    count = sum(times.values())
    return {
        "name": name,
        "method": "GET",
        "start_time": 1000.0,
        "last_request_timestamp": 1010.0,
        "num_requests": count,
        "num_failures": failures,
        "total_response_time": sum(float(k) * v for k, v in times.items()),
        "max_response_time": max(float(k) for k in times),
        "response_times": times,
    }


def _args() -> argparse.Namespace:
    return argparse.Namespace(
        scenario="rest", users=10, duration=10, processes=1, target=None, server_workers=1
    )


def test_totals_merge_every_request_name(tmp_path: Path) -> None:
    stats = tmp_path / "stats.json"
    entries = [_entry("/a", {"10": 90, "100": 10}), _entry("/b", {"20": 100}, failures=2)]
    stats.write_text(json.dumps(entries))
    summary = summarize(stats, _args(), 0, 300 * 2**20)
    total = summary["total"]
    assert total["requests"] == 200 and total["failures"] == 2
    assert total["rps"] == 20.0
    assert total["p50_ms"] == 20.0 and total["p99_ms"] == 100.0
    assert summary["requests"]["GET /a"]["avg_ms"] == 19.0
    assert summary["server_peak_rss_mib"] == 300.0


def test_a_run_without_statistics_has_empty_figures(tmp_path: Path) -> None:
    summary = summarize(tmp_path / "missing.json", _args(), 2, None)
    assert summary["total"]["requests"] == 0
    assert summary["requests"] == {}
    assert summary["locust_exit_code"] == 2
