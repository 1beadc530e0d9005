"""``stream``: send a chunk to the caller now (it counts toward the output limit)."""

from __future__ import annotations

from abi.plugins.host.base import STATUS_OK, GuestCall, HostCapability


def emit(call: GuestCall, ptr: int, length: int) -> int:
    """``abi_stream.emit``: pass the bytes at ``ptr`` to the caller as one chunk."""
    call.emit(call.read(ptr, length))
    return STATUS_OK


CAPABILITY = HostCapability("stream", {"emit": emit})
