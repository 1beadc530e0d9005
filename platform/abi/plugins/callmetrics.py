"""Prometheus metrics of plugin calls, per tenant and plugin (default registry, so
``/api/v1/metrics`` exposes them)."""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import Any

from prometheus_client import Counter, Histogram

from abi.plugins.usage import Usage

_LABELS = ("tenant", "plugin")

CALLS = Counter(
    "abi_plugin_calls", "Plugin calls by outcome (ok or the error code)", (*_LABELS, "outcome")
)
FUEL = Counter("abi_plugin_fuel", "Fuel (Wasm instructions) consumed by plugin calls", _LABELS)
HOST_CALLS = Counter("abi_plugin_host_calls", "Host function calls made by plugins", _LABELS)
DENIED_CALLS = Counter(
    "abi_plugin_denied_calls", "Host calls refused because the capability is not granted", _LABELS
)
BYTES_IN = Counter("abi_plugin_input_bytes", "Input bytes passed to plugin calls", _LABELS)
BYTES_OUT = Counter(
    "abi_plugin_output_bytes", "Output bytes (with streamed chunks) of plugin calls", _LABELS
)
SECONDS = Histogram(
    "abi_plugin_call_seconds",
    "Wall time of plugin calls",
    _LABELS,
    buckets=(0.0001, 0.0005, 0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1.0, 5.0, 30.0),
)
MEMORY = Histogram(
    "abi_plugin_memory_bytes",
    "Linear memory size at the end of plugin calls",
    _LABELS,
    buckets=tuple(float(1 << n) for n in range(16, 32, 2)),
)
_PER_PLUGIN = (FUEL, HOST_CALLS, DENIED_CALLS, BYTES_IN, BYTES_OUT, SECONDS, MEMORY)


@dataclass(frozen=True)
class _Children:
    """One (tenant, plugin)'s labelled series, looked up once (``labels()`` is slow)."""

    ok: Any
    fuel: Any
    host_calls: Any
    denied_calls: Any
    bytes_in: Any
    bytes_out: Any
    seconds: Any
    memory: Any


_children: dict[tuple[str, str], _Children] = {}
_lock = threading.Lock()


def _series(tenant_id: str, plugin: str) -> _Children:
    key = (tenant_id, plugin)
    found = _children.get(key)
    if found is None:
        with _lock:
            found = _children.get(key)
            if found is None:
                found = _Children(
                    CALLS.labels(tenant_id, plugin, "ok"),
                    *(m.labels(tenant_id, plugin) for m in _PER_PLUGIN),
                )
                _children[key] = found
    return found


def record(tenant_id: str, plugin: str, usage: Usage | None, outcome: str) -> None:
    """Count one call (``outcome`` is ``ok`` or the error code) and its usage."""
    series = _series(tenant_id, plugin)
    if outcome == "ok":
        series.ok.inc()
    else:
        CALLS.labels(tenant_id, plugin, outcome).inc()
    if usage is None:
        return
    series.fuel.inc(usage.fuel)
    if usage.host_calls:
        series.host_calls.inc(usage.host_calls)
    if usage.denied_calls:
        series.denied_calls.inc(usage.denied_calls)
    series.bytes_in.inc(usage.bytes_in)
    series.bytes_out.inc(usage.bytes_out)
    series.seconds.observe(usage.wall_us / 1_000_000)
    series.memory.observe(usage.memory_bytes)
