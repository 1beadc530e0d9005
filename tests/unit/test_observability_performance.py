"""Per-plugin figures of GET /api/v1/performance, read from the plugin call metrics."""

from __future__ import annotations

import uuid

from abi.plugins import callmetrics
from abi.plugins.usage import Usage
from abi.runtime import Platform
from abi.server.routes.performance import collect, plugin_figures


def test_fuel_calls_and_time_are_reported_per_plugin(platform: Platform) -> None:
    tenant = f"t_{uuid.uuid4().hex[:8]}"
    usage = Usage(fuel=1000, wall_us=2000, host_calls=3)
    callmetrics.record(tenant, "echo", usage, "ok")
    callmetrics.record(tenant, "echo", usage, "ok")
    callmetrics.record(tenant, "echo", None, "plugin.trap")
    figures = plugin_figures(platform, tenant)["per_plugin"]["echo"]
    assert figures["calls"] == {"ok": 2, "plugin.trap": 1}
    assert figures["fuel"] == 2000
    assert figures["host_calls"] == 6
    assert figures["mean_call_ms"] == 2.0


def test_another_tenants_plugins_are_not_reported(platform: Platform) -> None:
    mine, theirs = f"t_{uuid.uuid4().hex[:8]}", f"t_{uuid.uuid4().hex[:8]}"
    callmetrics.record(theirs, "secret-plugin", Usage(fuel=5), "ok")
    assert plugin_figures(platform, mine)["per_plugin"] == {}


def test_collect_reports_every_subsystem(platform: Platform) -> None:
    figures = collect(platform, "t_nobody")
    assert {"http", "process", "traces", "plugins", "vectors", "compute", "agents"} <= set(figures)
    assert not any("error" in v for v in figures.values() if isinstance(v, dict))
