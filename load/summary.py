"""The summary of a locust run, from its ``--json-file`` output: totals and each request
name's count, failures, rate and latency percentiles."""

from __future__ import annotations

import argparse
import json
import os
from collections import Counter
from pathlib import Path
from typing import Any

PERCENTILES = (50, 95, 99)


def _percentile(times: Counter[float], count: int, pct: int) -> float | None:
    if count == 0:
        return None
    target = count * pct / 100
    seen = 0
    for value, n in sorted(times.items()):
        seen += n
        if seen >= target:
            return value
    return max(times)


def _figures(entries: list[dict[str, Any]], seconds: float) -> dict[str, Any]:
    count = sum(e["num_requests"] for e in entries)
    times: Counter[float] = Counter()
    for entry in entries:
        times.update({float(k): v for k, v in entry["response_times"].items()})
    out: dict[str, Any] = {
        "requests": count,
        "failures": sum(e["num_failures"] for e in entries),
        "rps": round(count / seconds, 2) if seconds > 0 else None,
        "avg_ms": round(sum(e["total_response_time"] for e in entries) / count, 2)
        if count
        else None,
        "max_ms": round(max(e["max_response_time"] or 0 for e in entries), 2) if count else None,
    }
    for pct in PERCENTILES:
        out[f"p{pct}_ms"] = _percentile(times, count, pct)
    return out


def summarize(
    stats_json: Path, args: argparse.Namespace, exit_code: int, peak_rss_bytes: int | None
) -> dict[str, Any]:
    """Totals over the run and figures per request name."""
    entries: list[dict[str, Any]] = (
        json.loads(stats_json.read_text(encoding="utf-8")) if stats_json.exists() else []
    )
    active = [e for e in entries if e["num_requests"]]
    seconds = (
        max(e["last_request_timestamp"] for e in active) - min(e["start_time"] for e in active)
        if active
        else 0.0
    )
    return {
        "scenario": args.scenario,
        "users": args.users,
        "duration_s": args.duration,
        "locust_processes": args.processes,
        "server_workers": None if args.target else args.server_workers,
        "machine_cpus": os.cpu_count(),
        "total": _figures(active, seconds),
        "requests": {f"{e['method']} {e['name']}": _figures([e], seconds) for e in active},
        "server_peak_rss_mib": round(peak_rss_bytes / 2**20, 1) if peak_rss_bytes else None,
        "locust_exit_code": exit_code,
    }
