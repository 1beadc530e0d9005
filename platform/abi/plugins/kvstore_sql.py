"""The ``kv`` capability's state in the metadata store, one namespace per (tenant, plugin).

Limits (plugin-sdk/ABI.md §3): a key is at most 256 bytes of UTF-8, a value at most 64 KiB,
and one plugin holds at most 1,000 keys and 1 MiB (keys plus values) per tenant. A write
that would cross a limit fails with ``limit_reached`` and changes nothing; the check and the
write happen in one transaction, so concurrent writers cannot overshoot a quota together.
"""

from __future__ import annotations

import sqlalchemy as sa

from abi.plugins.host.base import HostFailure
from abi.plugins.host.kv import MAX_KEY as MAX_KEY_BYTES
from abi.plugins.host.kv import MAX_KEYS
from abi.plugins.host.kv import MAX_TOTAL as MAX_TOTAL_BYTES
from abi.plugins.host.kv import MAX_VALUE as MAX_VALUE_BYTES
from abi.plugins.tables import kv_entries
from abi.store import Database, TenantScope
from abi.store.types import utcnow


def _key_bytes(key: str) -> int:
    size = len(key.encode("utf-8"))
    if size == 0:
        raise HostFailure("bad_argument", "a kv key must not be empty")
    if size > MAX_KEY_BYTES:
        raise HostFailure("bad_argument", f"a kv key is at most {MAX_KEY_BYTES} bytes, got {size}")
    return size


class SqlKeyValueStore:
    """A :class:`abi.plugins.host.base.KeyValueStore` on the ``plugin_kv`` table."""

    def __init__(
        self,
        db: Database,
        *,
        max_keys: int = MAX_KEYS,
        max_total_bytes: int = MAX_TOTAL_BYTES,
        max_value_bytes: int = MAX_VALUE_BYTES,
    ) -> None:
        self.db = db
        self.max_keys = max_keys
        self.max_total_bytes = max_total_bytes
        self.max_value_bytes = max_value_bytes

    @staticmethod
    def _where(plugin: str, key: str | None = None) -> list[sa.ColumnElement[bool]]:
        clauses = [kv_entries.c.plugin == plugin]
        if key is not None:
            clauses.append(kv_entries.c.key == key)
        return clauses

    def get(self, tenant_id: str, plugin: str, key: str) -> bytes | None:
        """The value stored under ``key``, or None."""
        _key_bytes(key)
        with self.db.begin() as conn:
            row = TenantScope(tenant_id).one(conn, kv_entries, *self._where(plugin, key))
        return None if row is None else bytes(row["value"])

    def set(self, tenant_id: str, plugin: str, key: str, value: bytes) -> None:
        """Store ``value`` under ``key``; HostFailure(limit_reached) past a quota."""
        size = _key_bytes(key) + len(value)
        if len(value) > self.max_value_bytes:
            raise HostFailure(
                "limit_reached",
                f"a kv value is at most {self.max_value_bytes} bytes, got {len(value)}",
            )
        scope = TenantScope(tenant_id)
        values = {"value": value, "size": size, "updated_at": utcnow()}
        with self.db.begin() as conn:
            # Write first: it takes the write lock before the quota is read, so two
            # concurrent writers cannot both pass the check.
            if not scope.update(conn, kv_entries, values, *self._where(plugin, key)):
                scope.insert(conn, kv_entries, {"plugin": plugin, "key": key, **values})
            keys, total = self._stats(conn, scope, plugin)
            if keys > self.max_keys:
                raise HostFailure(
                    "limit_reached", f"a plugin holds at most {self.max_keys} kv keys per tenant"
                )
            if total > self.max_total_bytes:
                raise HostFailure(
                    "limit_reached",
                    f"a plugin holds at most {self.max_total_bytes} kv bytes per tenant",
                )

    def delete(self, tenant_id: str, plugin: str, key: str) -> bool:
        """Remove ``key``; False when it was not there."""
        _key_bytes(key)
        with self.db.begin() as conn:
            return TenantScope(tenant_id).delete(conn, kv_entries, *self._where(plugin, key)) > 0

    def stats(self, tenant_id: str, plugin: str) -> tuple[int, int]:
        """``(number of keys, total bytes of keys and values)``."""
        with self.db.begin() as conn:
            return self._stats(conn, TenantScope(tenant_id), plugin)

    def clear(self, tenant_id: str, plugin: str) -> int:
        """Remove every key of ``plugin`` for the tenant (uninstall); returns how many."""
        with self.db.begin() as conn:
            return TenantScope(tenant_id).delete(conn, kv_entries, *self._where(plugin))

    @staticmethod
    def _stats(conn: sa.Connection, scope: TenantScope, plugin: str) -> tuple[int, int]:
        stmt = sa.select(
            sa.func.count(), sa.func.coalesce(sa.func.sum(kv_entries.c.size), 0)
        ).where(scope.where(kv_entries, kv_entries.c.plugin == plugin))
        keys, total = conn.execute(stmt).one()
        return int(keys), int(total)
