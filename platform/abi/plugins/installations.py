"""Per-tenant installations: which version, enabled or not, grants, declined capabilities and
config values (encrypted at rest with the tenant's data key).

This module holds the rules; :class:`abi.plugins.service.PluginService` adds the runtime
(instances, reloads) and the audit trail on top.

- A first install grants what the request names (nothing by default); every other requested
  capability is recorded as *declined* and linked to a denial stub.
- Changing version keeps the grants that still fit the new manifest. A capability the new
  version requests that the tenant has neither granted nor declined needs a decision: the
  change is refused with ``plugin.grant_required`` until the request carries grants for it.
- Config values are validated against the installed version's ``config_schema``.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol

import sqlalchemy as sa
from sqlalchemy.engine import Connection, RowMapping

from abi.errors import Conflict, InvalidInput, NotFound
from abi.plugins.grants import resolve_grants
from abi.plugins.manifest import Manifest
from abi.plugins.tables import installations
from abi.store import Database, TenantScope
from abi.store.types import utcnow

Grants = dict[str, dict[str, Any]]


class ConfigCipher(Protocol):
    """Per-tenant encryption at rest (``platform.security`` provides it)."""

    def encrypt(self, tenant_id: str, plaintext: bytes, context: bytes = b"") -> bytes: ...

    def decrypt(self, tenant_id: str, ciphertext: bytes, context: bytes = b"") -> bytes: ...


class GrantRequired(Conflict):
    """The target version requests capabilities the tenant has not decided on."""

    code = "plugin.grant_required"


class NotInstalled(NotFound):
    code = "plugin.not_installed"


class DependencyMissing(Conflict):
    code = "plugin.dependency_missing"


class DependencyInUse(Conflict):
    code = "plugin.dependency_in_use"


@dataclass(frozen=True)
class Installation:
    """A plugin installed for one tenant."""

    tenant_id: str
    name: str
    version: str
    enabled: bool
    grants: Grants
    declined: tuple[str, ...]
    config: dict[str, Any]
    lifecycle: dict[str, Any]
    revision: int
    installed_at: datetime
    updated_at: datetime

    def to_dict(self, *, include_config: bool = True) -> dict[str, Any]:
        body: dict[str, Any] = {
            "name": self.name,
            "version": self.version,
            "enabled": self.enabled,
            "grants": self.grants,
            "declined": list(self.declined),
            "lifecycle": self.lifecycle,
            "revision": self.revision,
            "installed_at": self.installed_at.isoformat(),
            "updated_at": self.updated_at.isoformat(),
        }
        if include_config:
            body["config"] = self.config
        return body


@dataclass(frozen=True)
class Decision:
    """Grants and declined capabilities worked out for one target version."""

    grants: Grants
    declined: tuple[str, ...]
    undecided: tuple[str, ...] = field(default=())


def decide_grants(
    manifest: Manifest,
    requested_grants: Mapping[str, Mapping[str, Any]] | Iterable[str] | None,
    current: Installation | None,
) -> Decision:
    """Grants for ``manifest``: the request's when given (everything else declined), else
    the current installation's that still fit (capabilities new to the tenant undecided)."""
    requested = set(manifest.capabilities)
    if requested_grants is not None:
        grants = resolve_grants(manifest, requested_grants)
        return Decision(grants, tuple(sorted(requested - set(grants))))
    if current is None:
        return Decision({}, tuple(sorted(requested)))
    kept: Grants = {}
    for capability, params in current.grants.items():
        if capability not in requested:
            continue
        try:
            kept.update(resolve_grants(manifest, {capability: params}))
        except InvalidInput:
            continue  # the new version asks for this capability differently: decide again
    declined = tuple(sorted(requested & set(current.declined)))
    undecided = tuple(sorted(requested - set(kept) - set(declined)))
    return Decision(kept, declined, undecided)


def _config_context(name: str) -> bytes:
    return b"plugin-config:" + name.encode()


class InstallationStore:
    """Installations in the metadata store, one row per (tenant, plugin)."""

    def __init__(
        self,
        db: Database,
        cipher: ConfigCipher,
        on_change: Callable[[str, str], None] | None = None,
    ) -> None:
        self.db = db
        self.cipher = cipher
        self.on_change = on_change
        """Called with (tenant id, plugin name) after every change that moves the revision."""

    def _changed(self, tenant_id: str, name: str) -> None:
        if self.on_change is not None:
            self.on_change(tenant_id, name)

    def _seal(self, tenant_id: str, name: str, config: Mapping[str, Any]) -> bytes:
        plaintext = json.dumps(dict(config), separators=(",", ":"), sort_keys=True).encode()
        return self.cipher.encrypt(tenant_id, plaintext, _config_context(name))

    def _from_row(self, row: RowMapping) -> Installation:
        plaintext = self.cipher.decrypt(
            row["tenant_id"], row["config"], _config_context(row["name"])
        )
        return Installation(
            tenant_id=row["tenant_id"],
            name=row["name"],
            version=row["version"],
            enabled=bool(row["enabled"]),
            grants={k: dict(v) for k, v in row["grants"].items()},
            declined=tuple(row["declined"]),
            config=json.loads(plaintext),
            lifecycle=dict(row["lifecycle"]),
            revision=int(row["revision"]),
            installed_at=row["installed_at"],
            updated_at=row["updated_at"],
        )

    def find(self, tenant_id: str, name: str) -> Installation | None:
        with self.db.begin() as conn:
            row = TenantScope(tenant_id).one(conn, installations, installations.c.name == name)
        return None if row is None else self._from_row(row)

    def get(self, tenant_id: str, name: str) -> Installation:
        found = self.find(tenant_id, name)
        if found is None:
            raise NotInstalled(
                f"plugin {name!r} is not installed for this tenant; install it first "
                f"(POST /api/v1/plugins/{name}/install)",
                plugin=name,
            )
        return found

    def revision(self, tenant_id: str, name: str) -> int | None:
        """The installation's revision (cheap: one column), None when not installed."""
        with self.db.begin() as conn:
            row = conn.execute(
                TenantScope(tenant_id)
                .select(installations, installations.c.name == name)
                .with_only_columns(installations.c.revision)
            ).first()
        return None if row is None else int(row[0])

    def list(self, tenant_id: str) -> list[Installation]:
        with self.db.begin() as conn:
            rows = TenantScope(tenant_id).all(conn, installations, order_by=[installations.c.name])
        return [self._from_row(row) for row in rows]

    def save(
        self,
        tenant_id: str,
        name: str,
        *,
        version: str,
        enabled: bool,
        decision: Decision,
        config: Mapping[str, Any],
    ) -> Installation:
        """Create or replace the tenant's installation of ``name`` (revision + 1)."""
        now = utcnow()
        values: dict[str, Any] = {
            "version": version,
            "enabled": enabled,
            "grants": decision.grants,
            "declined": list(decision.declined),
            "config": self._seal(tenant_id, name, config),
            "updated_at": now,
        }
        scope = TenantScope(tenant_id)
        try:
            row = self._write(scope, name, values, now)
        except sa.exc.IntegrityError as exc:
            raise Conflict(
                f"plugin {name!r} was being installed by another request at the same time; "
                "repeat the request",
                code="plugin.concurrent_install",
            ) from exc
        self._changed(tenant_id, name)
        return self._from_row(row)

    def _write(
        self, scope: TenantScope, name: str, values: dict[str, Any], now: datetime
    ) -> RowMapping:
        with self.db.begin() as conn:
            current = scope.one(conn, installations, installations.c.name == name)
            if current is None:
                scope.insert(
                    conn,
                    installations,
                    {"name": name, "lifecycle": {}, "revision": 1, "installed_at": now, **values},
                )
            else:
                values["revision"] = installations.c.revision + 1
                if current["version"] != values["version"]:
                    values["lifecycle"] = {}
                scope.update(conn, installations, values, installations.c.name == name)
            row = scope.one(conn, installations, installations.c.name == name)
        assert row is not None
        return row

    def update(self, tenant_id: str, name: str, **values: Any) -> Installation:
        """Change some columns (``enabled``, ``config``, ``lifecycle``; ``bump``: revision)."""
        bump = values.pop("bump", True)
        if "config" in values:
            values["config"] = self._seal(tenant_id, name, values["config"])
        scope = TenantScope(tenant_id)
        with self.db.begin() as conn:
            self._existing_row(conn, scope, name)
            if bump:
                values["revision"] = installations.c.revision + 1
                values["updated_at"] = utcnow()
            scope.update(conn, installations, values, installations.c.name == name)
            row = scope.one(conn, installations, installations.c.name == name)
        assert row is not None
        if bump:
            self._changed(tenant_id, name)
        return self._from_row(row)

    def _existing_row(self, conn: Connection, scope: TenantScope, name: str) -> RowMapping:
        row = scope.one(conn, installations, installations.c.name == name)
        if row is None:
            raise NotInstalled(f"plugin {name!r} is not installed for this tenant", plugin=name)
        return row

    def delete(self, tenant_id: str, name: str) -> None:
        with self.db.begin() as conn:
            if not TenantScope(tenant_id).delete(conn, installations, installations.c.name == name):
                raise NotInstalled(f"plugin {name!r} is not installed for this tenant", plugin=name)
        self._changed(tenant_id, name)
