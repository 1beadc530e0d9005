"""``log``: guest log lines to the host's logger (lines over 4 KiB are cut)."""

from __future__ import annotations

import logging

from abi.plugins.host.base import GuestCall, HostCapability

MAX_LINE = 4096
LEVELS = (logging.DEBUG, logging.INFO, logging.WARNING, logging.ERROR)


def write(call: GuestCall, level: int, ptr: int, length: int) -> None:
    """``abi_log.write``: log a line at level 0-3 (debug..error; others are clamped)."""
    text = call.read(ptr, min(max(length, 0), MAX_LINE)).decode("utf-8", "replace")
    level = min(max(level, 0), 3)
    ctx = call.context
    ctx.logger.log(LEVELS[level], "[%s %s@%s] %s", ctx.tenant_id, ctx.plugin, ctx.version, text)
    if ctx.log_sink is not None:
        ctx.log_sink(level, text)


CAPABILITY = HostCapability("log", {"write": write})
