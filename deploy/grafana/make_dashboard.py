"""Writes deploy/grafana/dashboards/abi.json, the Grafana dashboard of Abi's metrics.

Run it after changing the panels: ``python deploy/grafana/make_dashboard.py``. Every query
names only metrics Abi exports (tests/unit/test_deploy_manifests.py checks this).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

OUT = Path(__file__).parent / "dashboards" / "abi.json"
DATASOURCE = {"type": "prometheus", "uid": "${datasource}"}
RATE = "[$__rate_interval]"


def _quantiles(metric: str, by: str = "") -> list[tuple[str, str]]:
    group = f"le{', ' + by if by else ''}"
    suffix = f" {{{{{by}}}}}" if by else ""
    return [
        (
            f"histogram_quantile({q}, sum by ({group}) (rate({metric}_bucket{RATE})))",
            f"p{int(q * 100)}{suffix}",
        )
        for q in (0.5, 0.95, 0.99)
    ]


PANELS: list[tuple[str, str, list[tuple[str, str]]]] = [
    # (title, unit, [(expr, legend)])
    (
        "HTTP requests per second by status",
        "reqps",
        [("sum by (status) (rate(abi_http_requests_total" + RATE + "))", "{{status}}")],
    ),
    ("HTTP latency", "s", _quantiles("abi_http_request_duration_seconds")),
    (
        "HTTP 5xx ratio",
        "percentunit",
        [
            (
                'sum(rate(abi_http_requests_total{status=~"5.."}' + RATE + "))"
                " / clamp_min(sum(rate(abi_http_requests_total" + RATE + ")), 1e-9)",
                "5xx",
            )
        ],
    ),
    (
        "Slowest routes (p95)",
        "s",
        [
            (
                "topk(10, histogram_quantile(0.95, sum by (le, route) "
                "(rate(abi_http_request_duration_seconds_bucket" + RATE + "))))",
                "{{route}}",
            )
        ],
    ),
    (
        "WebSocket connections",
        "short",
        [
            ("sum(abi_websocket_connections)", "open"),
            ("sum(rate(abi_websocket_slow_disconnects_total" + RATE + "))", "slow drops/s"),
        ],
    ),
    (
        "Plugin calls per second by outcome",
        "ops",
        [("sum by (outcome) (rate(abi_plugin_calls_total" + RATE + "))", "{{outcome}}")],
    ),
    (
        "Plugin fuel per second by plugin",
        "short",
        [("sum by (plugin) (rate(abi_plugin_fuel_total" + RATE + "))", "{{plugin}}")],
    ),
    ("Plugin call time (p95) by plugin", "s", _quantiles("abi_plugin_call_seconds", "plugin")[1:2]),
    (
        "Plugin host calls per second (denied in red)",
        "ops",
        [
            ("sum(rate(abi_plugin_host_calls_total" + RATE + "))", "host calls"),
            ("sum(rate(abi_plugin_denied_calls_total" + RATE + "))", "denied"),
        ],
    ),
    (
        "Process memory and CPU",
        "short",
        [
            ("sum by (instance) (process_resident_memory_bytes) / 2^20", "RSS MiB {{instance}}"),
            ("sum by (instance) (rate(process_cpu_seconds_total" + RATE + "))", "CPU {{instance}}"),
        ],
    ),
]


def _panel(index: int, title: str, unit: str, targets: list[tuple[str, str]]) -> dict[str, Any]:
    return {
        "id": index + 1,
        "type": "timeseries",
        "title": title,
        "datasource": DATASOURCE,
        "gridPos": {"h": 8, "w": 12, "x": (index % 2) * 12, "y": (index // 2) * 8},
        "fieldConfig": {"defaults": {"unit": unit}, "overrides": []},
        "options": {"legend": {"displayMode": "list", "placement": "bottom"}},
        "targets": [
            {
                "refId": chr(ord("A") + n),
                "expr": expr,
                "legendFormat": legend,
                "datasource": DATASOURCE,
            }
            for n, (expr, legend) in enumerate(targets)
        ],
    }


def dashboard() -> dict[str, Any]:
    return {
        "uid": "abi-overview",
        "title": "Abi",
        "tags": ["abi"],
        "timezone": "utc",
        "schemaVersion": 39,
        "version": 1,
        "refresh": "30s",
        "time": {"from": "now-1h", "to": "now"},
        "templating": {
            "list": [
                {
                    "name": "datasource",
                    "type": "datasource",
                    "query": "prometheus",
                    "current": {"text": "Prometheus", "value": "abi-prometheus"},
                }
            ]
        },
        "panels": [_panel(i, *panel) for i, panel in enumerate(PANELS)],
    }


if __name__ == "__main__":
    OUT.write_text(json.dumps(dashboard(), indent=2) + "\n", encoding="utf-8")
    print(f"wrote {OUT}")
