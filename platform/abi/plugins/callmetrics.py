"""Prometheus metrics of plugin calls, per tenant and plugin (default registry, so
``/api/v1/metrics`` exposes them)."""

from __future__ import annotations

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


def record(tenant_id: str, plugin: str, usage: Usage | None, outcome: str) -> None:
    """Count one call (``outcome`` is ``ok`` or the error code) and its usage."""
    CALLS.labels(tenant_id, plugin, outcome).inc()
    if usage is None:
        return
    labels = (tenant_id, plugin)
    FUEL.labels(*labels).inc(usage.fuel)
    HOST_CALLS.labels(*labels).inc(usage.host_calls)
    DENIED_CALLS.labels(*labels).inc(usage.denied_calls)
    BYTES_IN.labels(*labels).inc(usage.bytes_in)
    BYTES_OUT.labels(*labels).inc(usage.bytes_out)
    SECONDS.labels(*labels).observe(usage.wall_us / 1_000_000)
    MEMORY.labels(*labels).observe(usage.memory_bytes)
