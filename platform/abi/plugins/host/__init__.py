"""Host capabilities: one small module per capability, registered in :data:`REGISTRY`.

Adding a capability: declare it in :mod:`abi.plugins.capabilities` (import module, function
signatures, parameters), implement its functions in a module here, and add its
:class:`HostCapability` to the table below.
"""

from __future__ import annotations

from abi.plugins.host import clock, config, http, kv, log, random, services, stream
from abi.plugins.host.base import HostCapability

REGISTRY: dict[str, HostCapability] = {
    cap.name: cap
    for cap in (
        log.CAPABILITY,
        config.CAPABILITY,
        kv.CAPABILITY,
        stream.CAPABILITY,
        clock.CAPABILITY,
        random.CAPABILITY,
        http.CAPABILITY,
        services.VECTORS_READ,
        services.VECTORS_WRITE,
        services.EMBED,
        services.NEURAL,
        services.AGENTS,
    )
}
"""Capability name -> implementation."""
