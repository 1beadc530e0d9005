"""``stream``: send a chunk to the caller now (it counts toward the output limit)."""

from __future__ import annotations

from abi.plugins.host.base import STATUS_OK, GuestCall, HostCapability


def emit(call: GuestCall, ptr: int, length: int) -> int:
    call.emit(call.read(ptr, length))
    return STATUS_OK


CAPABILITY = HostCapability("stream", {"emit": emit})
