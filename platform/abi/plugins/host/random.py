"""``random``: cryptographically secure random bytes (at most 64 KiB a call)."""

from __future__ import annotations

import secrets

from abi.plugins.host.base import STATUS_OK, GuestCall, HostCapability, HostFailure

MAX_FILL = 64 * 1024


def fill(call: GuestCall, ptr: int, length: int) -> int:
    """``abi_random.fill``: write ``length`` random bytes at ``ptr``."""
    if length < 0 or length > MAX_FILL:
        raise HostFailure("bad_argument", f"fill length must be 0..{MAX_FILL}")
    call.write(ptr, secrets.token_bytes(length))
    return STATUS_OK


CAPABILITY = HostCapability("random", {"fill": fill})
