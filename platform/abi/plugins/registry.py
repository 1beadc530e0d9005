"""The plugin registry: publisher keys, published plugins and every one of their versions.

:meth:`PluginRegistry.publish` checks an uploaded bundle completely before anything is
stored: size, bundle structure and manifest, signature integrity, a known publisher key,
module validity (ABI version, exports, imports covered by requested capabilities; done by the
sandbox's loader), name ownership, version uniqueness and dependency resolution. Only then is
the bundle written to the blob store (content-addressed) and recorded, in one transaction.

Visibility: a plugin signed by a platform-wide key (``plugins.trusted_publishers`` or a
publisher registered without a tenant) is public; one signed by a key a tenant registered is
private to that tenant. Readers pass ``viewer``: a tenant id (public + own plugins),
:data:`PUBLIC` (public only) or :data:`EVERYTHING` (platform administration).
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection, RowMapping

from abi.config import PluginSettings
from abi.errors import Conflict, InvalidInput, NotFound
from abi.plugins.bundle import Bundle, verify_integrity
from abi.plugins.errors import ModuleTooLarge
from abi.plugins.manifest import MAX_MANIFEST_BYTES, NAME_RE, Manifest, manifest_from_mapping
from abi.plugins.signing import check_trusted, load_public_key
from abi.plugins.tables import plugin_versions, plugins, publishers
from abi.plugins.versions import VersionRange, parse_range, parse_version
from abi.store import BlobStore, Database
from abi.store.types import utcnow

log = logging.getLogger("abi.plugins.registry")

PUBLIC: str | None = None
"""Viewer that sees public plugins only."""
EVERYTHING = "*"
"""Viewer that sees every plugin (platform administration)."""
BUNDLE_OVERHEAD_BYTES = 2 * MAX_MANIFEST_BYTES + 64 * 1024
"""What a bundle may hold besides its module (manifest, signature, zip structure)."""
MAX_RESOLVE_ROUNDS = 64

ModuleValidator = Callable[[Manifest, bytes], object]
"""Checks a module against its manifest (raises a ``PluginInvalid`` error); what it returns
comes back as :attr:`Published.checked`."""


class DependencyUnresolved(InvalidInput):
    code = "plugin.dependency_unresolved"


class VersionExists(Conflict):
    code = "plugin.version_exists"


class NameTaken(Conflict):
    code = "plugin.name_taken"


class PluginNotFound(NotFound):
    code = "plugin.not_found"


@dataclass(frozen=True)
class Publisher:
    """A registered publisher key; ``tenant_id`` None means platform-wide."""

    id: int
    key_id: str
    tenant_id: str | None
    name: str
    created_at: datetime

    def to_dict(self) -> dict[str, Any]:
        return {**self.__dict__, "created_at": self.created_at.isoformat()}


@dataclass(frozen=True)
class PluginVersion:
    """One stored version of a plugin."""

    name: str
    version: str
    manifest: Manifest
    bundle_digest: str
    module_digest: str
    bundle_bytes: int
    publisher: str
    dependencies: Mapping[str, str]
    """Dependency name -> the version it resolved to at publish time."""
    created_at: datetime

    @property
    def capabilities(self) -> frozenset[str]:
        return frozenset(self.manifest.capabilities)

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "version": self.version,
            "manifest": self.manifest.to_dict(),
            "bundle_digest": self.bundle_digest,
            "module_digest": self.module_digest,
            "bundle_bytes": self.bundle_bytes,
            "publisher": self.publisher,
            "dependencies": dict(self.dependencies),
            "created_at": self.created_at.isoformat(),
        }


@dataclass(frozen=True)
class PluginInfo:
    """A plugin in the registry, with its latest version's summary."""

    name: str
    owner_tenant_id: str | None
    publisher: str
    description: str
    latest_version: str
    capabilities: tuple[str, ...]
    created_at: datetime
    updated_at: datetime
    versions: tuple[str, ...] = field(default=())

    @property
    def visibility(self) -> str:
        return "public" if self.owner_tenant_id is None else "private"

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "visibility": self.visibility,
            "publisher": self.publisher,
            "description": self.description,
            "latest_version": self.latest_version,
            "capabilities": list(self.capabilities),
            "versions": list(self.versions),
            "created_at": self.created_at.isoformat(),
            "updated_at": self.updated_at.isoformat(),
        }


@dataclass(frozen=True)
class Published:
    """The outcome of :meth:`PluginRegistry.publish`."""

    version: PluginVersion
    created: bool
    """False when the identical bundle was already stored (idempotent re-upload)."""
    checked: object = None
    """What the module validator returned (the plugin service: the compiled module)."""


def _version_from_row(row: Mapping[str, Any] | RowMapping) -> PluginVersion:
    return PluginVersion(
        name=row["name"],
        version=row["version"],
        manifest=manifest_from_mapping(row["manifest"]),
        bundle_digest=row["bundle_digest"],
        module_digest=row["module_digest"],
        bundle_bytes=row["bundle_bytes"],
        publisher=row["publisher"],
        dependencies=dict(row["dependencies"]),
        created_at=row["created_at"],
    )


def semver_key(version: str) -> Any:
    return parse_version(version)


class PluginRegistry:
    """Publishers, plugins and versions in the metadata store; bundles in the blob store."""

    def __init__(
        self,
        db: Database,
        blobs: BlobStore,
        settings: PluginSettings,
        validate_module: ModuleValidator,
    ) -> None:
        self.db = db
        self.blobs = blobs
        self.settings = settings
        self.validate_module = validate_module

    # Publishers -----------------------------------------------------------------------

    def add_publisher(self, public_key: str, name: str, *, tenant_id: str | None) -> Publisher:
        """Register an Ed25519 public key (base64, raw 32 bytes) for a tenant or, with
        ``tenant_id=None``, platform-wide."""
        key_id = public_key.strip()
        load_public_key(key_id)
        if not name or len(name) > 128:
            raise InvalidInput("publisher name must be 1..128 characters", code="plugin.bad_name")
        with self.db.begin() as conn:
            existing = conn.execute(
                sa.select(publishers.c.id).where(
                    publishers.c.key_id == key_id, self._publisher_owner(tenant_id)
                )
            ).first()
            if existing is not None:
                raise Conflict(
                    "this publisher key is already registered", code="plugin.publisher_exists"
                )
            now = utcnow()
            result = conn.execute(
                publishers.insert().values(
                    key_id=key_id, tenant_id=tenant_id, name=name, created_at=now
                )
            )
            new_id = int(result.inserted_primary_key[0])  # type: ignore[index]
        return Publisher(new_id, key_id, tenant_id, name, now)

    def publishers(self, tenant_id: str | None) -> list[Publisher]:
        """Platform-wide keys plus, for a tenant, its own."""
        clause: sa.ColumnElement[bool] = publishers.c.tenant_id.is_(None)
        if tenant_id is not None:
            clause = sa.or_(clause, publishers.c.tenant_id == tenant_id)
        with self.db.begin() as conn:
            rows = conn.execute(sa.select(publishers).where(clause).order_by(publishers.c.id))
            return [Publisher(**row) for row in rows.mappings()]

    def remove_publisher(self, publisher_id: int, *, tenant_id: str | None) -> None:
        """Remove a key of ``tenant_id`` (None: a platform-wide key). Versions it signed stay."""
        with self.db.begin() as conn:
            result = conn.execute(
                publishers.delete().where(
                    publishers.c.id == publisher_id, self._publisher_owner(tenant_id)
                )
            )
        if result.rowcount == 0:
            raise NotFound(f"publisher {publisher_id} does not exist", code="plugin.no_publisher")

    @staticmethod
    def _publisher_owner(tenant_id: str | None) -> sa.ColumnElement[bool]:
        if tenant_id is None:
            return publishers.c.tenant_id.is_(None)
        return publishers.c.tenant_id == tenant_id

    def _signer_owner(self, conn: Connection, key_id: str, uploader: str | None) -> str | None:
        """Who owns what ``key_id`` signs: None (public) for platform-wide keys, the uploader's
        tenant for its registered keys; UnknownPublisher otherwise."""
        platform_keys = list(self.settings.trusted_publishers)
        platform_keys += conn.execute(
            sa.select(publishers.c.key_id).where(publishers.c.tenant_id.is_(None))
        ).scalars()
        if key_id in {k.strip() for k in platform_keys}:
            return None
        tenant_keys: list[str] = []
        if uploader is not None:
            tenant_keys = list(
                conn.execute(
                    sa.select(publishers.c.key_id).where(publishers.c.tenant_id == uploader)
                ).scalars()
            )
        check_trusted(key_id, tenant_keys)
        return uploader

    # Publishing -----------------------------------------------------------------------

    @property
    def max_bundle_bytes(self) -> int:
        """The largest bundle :meth:`publish` accepts: the module limit plus the overhead."""
        return self.settings.max_module_bytes + BUNDLE_OVERHEAD_BYTES

    def parse(self, data: bytes) -> Bundle:
        """A bundle from uploaded bytes, size-checked and signature-checked (integrity)."""
        limit = self.settings.max_module_bytes
        if len(data) > self.max_bundle_bytes:
            raise ModuleTooLarge(
                f"the bundle is {len(data)} bytes; modules may be at most {limit} bytes "
                "(plugins.max_module_bytes)"
            )
        bundle = Bundle.from_bytes(data, max_module_bytes=limit)
        verify_integrity(bundle)
        return bundle

    def publish(self, data: bytes, *, uploader: str | None) -> Published:
        """Validate and store a signed bundle uploaded by tenant ``uploader`` (None: the
        platform itself, e.g. the local CLI). Refusals raise and store nothing."""
        bundle = self.parse(data)
        manifest = bundle.manifest
        assert bundle.signature is not None
        key_id = bundle.signature.publisher
        with self.db.begin() as conn:
            owner = self._signer_owner(conn, key_id, uploader)
        checked = self.validate_module(manifest, bundle.module)
        try:
            return replace(self._record(bundle, data, key_id, owner), checked=checked)
        except sa.exc.IntegrityError as exc:
            raise Conflict(
                f"{manifest.key} was being published by another upload at the same time; "
                "repeat the upload (an identical bundle is then accepted as already there)",
                code="plugin.concurrent_publish",
            ) from exc

    def _record(self, bundle: Bundle, data: bytes, key_id: str, owner: str | None) -> Published:
        """The checks that need the store, then the rows, in one transaction."""
        manifest = bundle.manifest
        with self.db.begin() as conn:
            current = conn.execute(sa.select(plugins).where(plugins.c.name == manifest.name))
            plugin_row = current.mappings().first()
            if plugin_row is not None:
                self._check_ownership(plugin_row, manifest.name, key_id, owner)
            stored = self._version_row(conn, manifest.name, manifest.version)
            if stored is not None:
                if stored["bundle_digest"] == _digest(data):
                    return Published(_version_from_row(stored), created=False)
                raise VersionExists(
                    f"{manifest.key} is already published with different content; "
                    "bump the version to publish a change",
                    plugin=manifest.name,
                    version=manifest.version,
                )
            resolved = self._resolve(
                conn, manifest.dependencies, owner, fixed={manifest.name: manifest.version}
            )
            resolved.pop(manifest.name, None)
            return Published(
                self._store(
                    conn, bundle, data, owner=owner, plugin_row=plugin_row, resolved=resolved
                ),
                created=True,
            )

    @staticmethod
    def _check_ownership(row: RowMapping, name: str, key_id: str, owner: str | None) -> None:
        if row["publisher"] != key_id or row["owner_tenant_id"] != owner:
            raise NameTaken(
                f"plugin {name!r} belongs to another publisher; new versions must be signed "
                "with the key that published it (or choose another name)",
                plugin=name,
            )

    def _store(
        self,
        conn: Connection,
        bundle: Bundle,
        data: bytes,
        *,
        owner: str | None,
        plugin_row: RowMapping | None,
        resolved: Mapping[str, str],
    ) -> PluginVersion:
        manifest = bundle.manifest
        now = utcnow()
        digest = _digest(data)
        fresh_blob = not self.blobs.exists(digest)
        self.blobs.put(data)
        try:
            row = {
                "name": manifest.name,
                "version": manifest.version,
                "manifest": manifest.to_dict(),
                "capabilities": sorted(manifest.capabilities),
                "bundle_digest": digest,
                "module_digest": bundle.module_sha256,
                "bundle_bytes": len(data),
                "publisher": bundle.signature.publisher if bundle.signature else "",
                "dependencies": dict(resolved),
                "created_at": now,
            }
            if plugin_row is None:
                conn.execute(
                    plugins.insert().values(
                        name=manifest.name,
                        owner_tenant_id=owner,
                        publisher=row["publisher"],
                        description=manifest.description,
                        latest_version=manifest.version,
                        created_at=now,
                        updated_at=now,
                    )
                )
            conn.execute(plugin_versions.insert().values(**row))
            if plugin_row is not None:
                newest = max([plugin_row["latest_version"], manifest.version], key=_release_order)
                values: dict[str, Any] = {"latest_version": newest, "updated_at": now}
                if newest == manifest.version:
                    values["description"] = manifest.description
                conn.execute(
                    plugins.update().where(plugins.c.name == manifest.name).values(**values)
                )
        except BaseException:
            if fresh_blob:
                self.blobs.delete(digest)
            raise
        log.info("published %s (%s)", manifest.key, digest[:12])
        return _version_from_row(row)

    # Reading --------------------------------------------------------------------------

    @staticmethod
    def _visible(viewer: str | None) -> sa.ColumnElement[bool]:
        if viewer == EVERYTHING:
            return sa.true()
        if viewer is None:
            return plugins.c.owner_tenant_id.is_(None)
        return sa.or_(plugins.c.owner_tenant_id.is_(None), plugins.c.owner_tenant_id == viewer)

    def _plugin_row(self, conn: Connection, name: str, viewer: str | None) -> RowMapping:
        row = (
            conn.execute(sa.select(plugins).where(plugins.c.name == name, self._visible(viewer)))
            .mappings()
            .first()
        )
        if row is None:
            raise PluginNotFound(f"plugin {name!r} does not exist", plugin=name)
        return row

    @staticmethod
    def _version_row(conn: Connection, name: str, version: str) -> RowMapping | None:
        return (
            conn.execute(
                sa.select(plugin_versions).where(
                    plugin_versions.c.name == name, plugin_versions.c.version == version
                )
            )
            .mappings()
            .first()
        )

    def get(self, name: str, *, viewer: str | None) -> PluginInfo:
        """One plugin with the list of its versions (oldest first)."""
        with self.db.begin() as conn:
            row = self._plugin_row(conn, name, viewer)
            versions = conn.execute(
                sa.select(plugin_versions.c.version).where(plugin_versions.c.name == name)
            ).scalars()
            ordered = tuple(sorted(versions, key=semver_key))
            caps = self._capabilities_of(conn, [(name, row["latest_version"])])
        return self._info(row, caps.get(name, ()), ordered)

    def version(self, name: str, version: str | None, *, viewer: str | None) -> PluginVersion:
        """A stored version; ``None`` means the latest release."""
        with self.db.begin() as conn:
            plugin_row = self._plugin_row(conn, name, viewer)
            wanted = version or plugin_row["latest_version"]
            row = self._version_row(conn, name, wanted)
        if row is None:
            raise PluginNotFound(
                f"plugin {name!r} has no version {wanted!r}", plugin=name, version=wanted
            )
        return _version_from_row(row)

    def versions(self, name: str, *, viewer: str | None) -> list[PluginVersion]:
        """Every stored version of ``name``, oldest first."""
        with self.db.begin() as conn:
            self._plugin_row(conn, name, viewer)
            rows = conn.execute(
                sa.select(plugin_versions).where(plugin_versions.c.name == name)
            ).mappings()
            found = [_version_from_row(row) for row in rows]
        return sorted(found, key=lambda v: semver_key(v.version))

    def bundle(self, version: PluginVersion) -> Bundle:
        """The stored bundle of ``version`` (verified against its digest on read)."""
        return Bundle.from_bytes(
            self.blobs.get(version.bundle_digest), max_module_bytes=self.settings.max_module_bytes
        )

    def search(
        self,
        *,
        viewer: str | None,
        query: str | None = None,
        capability: str | None = None,
        publisher: str | None = None,
        names: Iterable[str] | None = None,
        limit: int = 100,
        offset: int = 0,
    ) -> list[PluginInfo]:
        """Plugins visible to ``viewer``, by name; ``query`` matches name or description
        (case-insensitive), ``capability`` keeps plugins whose latest version requests it."""
        if not 1 <= limit <= 1000 or offset < 0:
            raise InvalidInput("limit must be 1..1000 and offset >= 0")
        clauses = [self._visible(viewer)]
        if query:
            pattern = f"%{query.lower()}%"
            clauses.append(
                sa.or_(
                    sa.func.lower(plugins.c.name).like(pattern),
                    sa.func.lower(plugins.c.description).like(pattern),
                )
            )
        if publisher:
            clauses.append(plugins.c.publisher == publisher)
        if names is not None:
            clauses.append(plugins.c.name.in_(list(names)))
        with self.db.begin() as conn:
            rows = list(
                conn.execute(sa.select(plugins).where(*clauses).order_by(plugins.c.name)).mappings()
            )
            caps = self._capabilities_of(conn, [(r["name"], r["latest_version"]) for r in rows])
        infos = [self._info(row, caps.get(row["name"], ())) for row in rows]
        if capability:
            infos = [info for info in infos if capability in info.capabilities]
        return infos[offset : offset + limit]

    @staticmethod
    def _capabilities_of(
        conn: Connection, keys: list[tuple[str, str]]
    ) -> dict[str, tuple[str, ...]]:
        if not keys:
            return {}
        rows = conn.execute(
            sa.select(
                plugin_versions.c.name, plugin_versions.c.version, plugin_versions.c.capabilities
            ).where(sa.tuple_(plugin_versions.c.name, plugin_versions.c.version).in_(keys))
        )
        return {name: tuple(caps) for name, _version, caps in rows}

    @staticmethod
    def _info(
        row: RowMapping, capabilities: tuple[str, ...], versions: tuple[str, ...] = ()
    ) -> PluginInfo:
        return PluginInfo(
            name=row["name"],
            owner_tenant_id=row["owner_tenant_id"],
            publisher=row["publisher"],
            description=row["description"],
            latest_version=row["latest_version"],
            capabilities=capabilities,
            created_at=row["created_at"],
            updated_at=row["updated_at"],
            versions=versions,
        )

    # Dependencies ---------------------------------------------------------------------

    def resolve(self, name: str, version: str, *, viewer: str | None) -> dict[str, str]:
        """Every plugin ``name@version`` needs, transitively: name -> chosen version (the
        highest that satisfies every range on it)."""
        target = self.version(name, version, viewer=viewer)
        with self.db.begin() as conn:
            resolved = self._resolve(
                conn, target.manifest.dependencies, viewer, fixed={name: version}
            )
        resolved.pop(name, None)
        return resolved

    def _resolve(
        self,
        conn: Connection,
        roots: Mapping[str, str],
        viewer: str | None,
        *,
        fixed: Mapping[str, str],
    ) -> dict[str, str]:
        """Fixpoint: choose the best version for every constrained name, gather the ranges
        of the chosen versions, repeat until the choice is stable."""
        catalog: dict[str, dict[str, Mapping[str, str]]] = {}
        chosen: dict[str, str] = dict(fixed)
        for _round in range(MAX_RESOLVE_ROUNDS):
            ranges: dict[str, list[VersionRange]] = {}
            sources = [roots] + [
                catalog[n][v] for n, v in chosen.items() if n in catalog and v in catalog[n]
            ]
            for deps in sources:
                for dep, text in deps.items():
                    ranges.setdefault(dep, []).append(parse_range(text))
            new_choice = dict(fixed)
            for dep, dep_ranges in sorted(ranges.items()):
                if dep in fixed:
                    if not all(r.contains(fixed[dep]) for r in dep_ranges):
                        raise self._unresolved(dep, dep_ranges, f"it is {fixed[dep]} here")
                    continue
                if dep not in catalog:
                    catalog[dep] = self._dependency_versions(conn, dep, viewer)
                combined = VersionRange(
                    " ".join(r.text for r in dep_ranges),
                    tuple(c for r in dep_ranges for c in r.comparators),
                )
                best = combined.best(catalog[dep])
                if best is None:
                    known = ", ".join(sorted(catalog[dep], key=semver_key)) or "none"
                    raise self._unresolved(dep, dep_ranges, f"available versions: {known}")
                new_choice[dep] = best
            if new_choice == chosen:
                return chosen
            chosen = new_choice
        raise DependencyUnresolved(
            "the dependency ranges do not settle on one set of versions; narrow the ranges"
        )

    @staticmethod
    def _unresolved(name: str, ranges: list[VersionRange], why: str) -> DependencyUnresolved:
        wanted = " and ".join(repr(r.text) for r in ranges)
        return DependencyUnresolved(
            f"dependency {name!r} {wanted} cannot be satisfied ({why}); publish a matching "
            "version of it first",
            dependency=name,
        )

    def _dependency_versions(
        self, conn: Connection, name: str, viewer: str | None
    ) -> dict[str, Mapping[str, str]]:
        """Versions of ``name`` visible to ``viewer`` -> their dependency ranges."""
        if not NAME_RE.match(name):
            return {}
        visible = conn.execute(
            sa.select(plugins.c.name).where(plugins.c.name == name, self._visible(viewer))
        ).first()
        if visible is None:
            return {}
        rows = conn.execute(
            sa.select(plugin_versions.c.version, plugin_versions.c.manifest).where(
                plugin_versions.c.name == name
            )
        )
        return {version: dict(manifest.get("dependencies", {})) for version, manifest in rows}


def _digest(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _release_order(version: str) -> tuple[bool, Any]:
    """Sort key: releases above pre-releases, then semver order."""
    parsed = parse_version(version)
    return (parsed.prerelease is None, parsed)
