"""``kv``: small persistent byte values per plugin per tenant, with quotas (ABI.md §3)."""

from __future__ import annotations

from abi.plugins.host.base import (
    STATUS_OK,
    GuestCall,
    HostCapability,
    HostFailure,
    KeyValueStore,
    service,
)

MAX_KEY = 256
MAX_VALUE = 64 * 1024
MAX_KEYS = 1000
MAX_TOTAL = 1024 * 1024


def _store(call: GuestCall) -> KeyValueStore:
    store: KeyValueStore = service(call.context.services.kv, "key-value")
    return store


def _key(call: GuestCall, ptr: int, length: int) -> str:
    if length <= 0 or length > MAX_KEY:
        raise HostFailure("bad_argument", f"keys are 1..{MAX_KEY} bytes")
    try:
        return call.read(ptr, length).decode("utf-8")
    except UnicodeDecodeError as exc:
        raise HostFailure("bad_argument", "keys are UTF-8") from exc


def get(call: GuestCall, key_ptr: int, key_len: int) -> int:
    """``abi_kv.get``: the value under a key; ``not_found`` when none."""
    key = _key(call, key_ptr, key_len)
    ctx = call.context
    value = _store(call).get(ctx.tenant_id, ctx.plugin, key)
    if value is None:
        raise HostFailure("not_found", f"no value under {key!r}")
    return call.give(value)


def set(call: GuestCall, key_ptr: int, key_len: int, val_ptr: int, val_len: int) -> int:
    """``abi_kv.set``: store a value, within the key, value and total quotas."""
    key = _key(call, key_ptr, key_len)
    if val_len < 0 or val_len > MAX_VALUE:
        raise HostFailure("bad_argument", f"values are at most {MAX_VALUE} bytes")
    value = call.read(val_ptr, val_len)
    ctx = call.context
    store = _store(call)
    old = store.get(ctx.tenant_id, ctx.plugin, key)
    keys, total = store.stats(ctx.tenant_id, ctx.plugin)
    size = len(key.encode()) + len(value)
    if old is None:
        keys += 1
    else:
        total -= len(key.encode()) + len(old)
    if keys > MAX_KEYS or total + size > MAX_TOTAL:
        raise HostFailure("limit_reached", f"kv quota: {MAX_KEYS} keys, {MAX_TOTAL} bytes")
    store.set(ctx.tenant_id, ctx.plugin, key, value)
    return STATUS_OK


def delete(call: GuestCall, key_ptr: int, key_len: int) -> int:
    """``abi_kv.delete``: remove a key; ``not_found`` when absent."""
    key = _key(call, key_ptr, key_len)
    ctx = call.context
    if not _store(call).delete(ctx.tenant_id, ctx.plugin, key):
        raise HostFailure("not_found", f"no value under {key!r}")
    return STATUS_OK


CAPABILITY = HostCapability("kv", {"get": get, "set": set, "delete": delete})
