"""``config``: one value of the tenant's config for this plugin, as JSON."""

from __future__ import annotations

from abi.plugins.host.base import GuestCall, HostCapability, HostFailure, give_json


def get(call: GuestCall, key_ptr: int, key_len: int) -> int:
    """``abi_config.get``: the tenant's value for a key as JSON; ``not_found`` when unset."""
    key = call.read(key_ptr, min(key_len, 1024)).decode("utf-8", "replace")
    config = call.context.config
    if key not in config:
        raise HostFailure("not_found", f"config has no key {key!r}")
    return give_json(call, config[key])


CAPABILITY = HostCapability("config", {"get": get})
