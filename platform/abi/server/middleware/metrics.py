"""Prometheus collectors for HTTP traffic (process-wide: one set per worker process)."""

from __future__ import annotations

from prometheus_client import Counter, Gauge, Histogram

REQUESTS = Counter(
    "abi_http_requests_total",
    "HTTP requests by route template, method and status.",
    ["route", "method", "status"],
)
LATENCY = Histogram(
    "abi_http_request_duration_seconds",
    "HTTP request latency by route template and method.",
    ["route", "method"],
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0),
)
WEBSOCKETS = Gauge("abi_websocket_connections", "Open WebSocket connections.")
WEBSOCKET_DROPS = Counter(
    "abi_websocket_slow_disconnects_total", "WebSocket clients disconnected for falling behind."
)
