"""``clock``: wall clock (Unix ms) and a monotonic clock (ns)."""

from __future__ import annotations

import time

from abi.plugins.host.base import GuestCall, HostCapability


def now_ms(call: GuestCall) -> int:
    """``abi_clock.now_ms``: Unix time in milliseconds."""
    return time.time_ns() // 1_000_000


def monotonic_ns(call: GuestCall) -> int:
    """``abi_clock.monotonic_ns``: a monotonic clock in nanoseconds."""
    return time.monotonic_ns()


CAPABILITY = HostCapability("clock", {"now_ms": now_ms, "monotonic_ns": monotonic_ns})
