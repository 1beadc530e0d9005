"""The ``plugins`` component: marketplace, per-tenant installations and calls.

``platform.plugins`` publishes bundles into the :class:`~abi.plugins.registry.PluginRegistry`,
installs them for tenants (grants, config), and invokes them in the sandbox with a host
context built from the tenant's installation: config, the SQL key-value store, streaming to
the event bus, and the vectors / embeddings / agents services the platform has.

Each (tenant, plugin) has one *active* bound plugin (an instance pool) tagged with the
installation's revision. Every change to the installation (upgrade, grants, config, enable,
reload) raises the revision; the next call in this process, and in other processes within
``revision_check_seconds``, notices it, builds the new version's pool and swaps it in
atomically. Calls already running keep the old pool and finish on it.
"""

from __future__ import annotations

import asyncio
import base64
import inspect
import logging
import threading
import time
import uuid
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from abi.errors import AbiError, Conflict, NotFound
from abi.plugins import callmetrics
from abi.plugins.errors import PluginCallError
from abi.plugins.host.base import (
    AgentService,
    EmbedService,
    HostContext,
    HostServices,
    NeuralService,
    VectorService,
)
from abi.plugins.host_adapters import AgentQueryAdapter, EmbedderAdapter, VectorStoreAdapter
from abi.plugins.installations import (
    DependencyInUse,
    DependencyMissing,
    GrantRequired,
    Installation,
    InstallationStore,
    NotInstalled,
    decide_grants,
)
from abi.plugins.kvstore_sql import SqlKeyValueStore
from abi.plugins.manifest import Manifest
from abi.plugins.registry import (
    EVERYTHING,
    PluginRegistry,
    PluginVersion,
    Published,
    Publisher,
)
from abi.plugins.sandbox import LoadedPlugin, Plugin, Sandbox
from abi.plugins.tables import MIGRATIONS
from abi.plugins.usage import CallResult, Usage
from abi.plugins.versions import parse_range

if TYPE_CHECKING:
    from abi.runtime import Platform

log = logging.getLogger("abi.plugins.service")

__all__ = ["MIGRATIONS", "PluginService"]

Sink = Callable[[bytes], None]

_SERVICE_PROVIDERS: tuple[tuple[str, tuple[str, ...], type], ...] = (
    ("vectors", ("vectors",), VectorService),
    ("embed", ("embeddings", "embedder"), EmbedService),
    ("neural", ("neural",), NeuralService),
    ("agents", ("agents",), AgentService),
)
"""HostServices field -> platform attributes that may provide it -> the protocol it needs."""


def stream_topic(name: str) -> str:
    """The event topic a plugin's streamed chunks are published on."""
    return f"plugins.{name}.stream"


def _conforms(provider: Any, protocol: type) -> bool:
    """True when ``provider`` has every method of ``protocol`` with the same parameters."""
    for attr, member in vars(protocol).items():
        if attr.startswith("_") or not callable(member):
            continue
        method = getattr(provider, attr, None)
        if method is None or not callable(method):
            return False
        try:
            wanted = list(inspect.signature(member).parameters)[1:]
            have = list(inspect.signature(method).parameters)
        except (TypeError, ValueError):
            return False
        if have[: len(wanted)] != wanted:
            return False
    return True


@dataclass
class _Active:
    """The bound plugin serving one tenant's installation at one revision."""

    revision: int
    version: PluginVersion
    installation: Installation
    plugin: Plugin | None
    """None while the installation is disabled."""
    checked: float = field(default_factory=time.monotonic)
    """When the revision in the store was last compared with ours (monotonic seconds)."""

    def close(self) -> None:
        if self.plugin is not None:
            self.plugin.close()


class PluginService:
    """Publish, install, grant, configure, invoke, reload and uninstall plugins."""

    name = "plugins"

    revision_check_seconds = 1.0
    """How stale this process's view of an installation may get when another process changes
    it; changes made through this service apply to the next call here at once."""

    def __init__(self, platform: Platform) -> None:
        settings = platform.settings
        self.platform = platform
        self.settings = settings.plugins
        self.sandbox = Sandbox(settings.plugins, cache_dir=settings.data_dir / "plugins" / "cache")
        self._checker = Sandbox(settings.plugins)
        """Validates uploads without the compile cache: a refused upload writes nothing. An
        accepted one's compiled module goes to the cache then, so it is compiled once."""
        self.registry = PluginRegistry(
            platform.db, platform.blobs, settings.plugins, self._validate_module
        )
        self.installations = InstallationStore(
            platform.db, platform.security, on_change=self._invalidate
        )
        self.kv = SqlKeyValueStore(platform.db)
        self._active: dict[tuple[str, str], _Active] = {}
        self._loaded: dict[str, LoadedPlugin] = {}
        self._lock = threading.Lock()
        self._key_locks: dict[tuple[str, str], threading.Lock] = {}

    # Component lifecycle ------------------------------------------------------------------

    def start(self) -> None:
        """Nothing to warm up: plugins are bound on their first call."""

    def stop(self) -> None:
        with self._lock:
            active, self._active = list(self._active.values()), {}
            self._loaded.clear()
        for entry in active:
            entry.close()

    def health(self) -> dict[str, Any]:
        with self._lock:
            return {"ok": True, "active": len(self._active), "loaded": len(self._loaded)}

    # Marketplace ----------------------------------------------------------------------------

    def _validate_module(self, manifest: Manifest, module: bytes) -> LoadedPlugin:
        return self._checker.load(manifest, module)

    def publish(self, data: bytes, *, uploader: str | None, actor: str = "system") -> Published:
        """Validate and store a signed bundle (see :meth:`PluginRegistry.publish`)."""
        published = self.registry.publish(data, uploader=uploader)
        cache, checked = self.sandbox.cache, published.checked
        if published.created and cache is not None and isinstance(checked, LoadedPlugin):
            cache.store(checked.compiled.module, checked.compiled.sha256)
        if uploader is not None and published.created:
            v = published.version
            self._audit(uploader, "plugin.publish", actor, v.name, version=v.version)
        return published

    def add_publisher(
        self,
        tenant_id: str,
        public_key: str,
        name: str,
        *,
        platform_wide: bool = False,
        actor: str = "system",
    ) -> Publisher:
        """Register a publisher key for ``tenant_id`` (or platform-wide); audited there."""
        owner = None if platform_wide else tenant_id
        publisher = self.registry.add_publisher(public_key, name, tenant_id=owner)
        self._audit(
            tenant_id, "plugin.publisher_add", actor, publisher.key_id, platform_wide=platform_wide
        )
        return publisher

    def remove_publisher(
        self, tenant_id: str, publisher_id: int, *, platform_wide: bool = False, actor: str
    ) -> None:
        """Remove one of the tenant's keys (``platform_wide``: or a platform-wide one)."""
        try:
            self.registry.remove_publisher(publisher_id, tenant_id=tenant_id)
        except NotFound:
            if not platform_wide:
                raise
            self.registry.remove_publisher(publisher_id, tenant_id=None)
        self._audit(tenant_id, "plugin.publisher_remove", actor, str(publisher_id))

    # Installations --------------------------------------------------------------------------

    def install(
        self,
        tenant_id: str,
        name: str,
        version: str | None = None,
        *,
        grants: Mapping[str, Mapping[str, Any]] | Iterable[str] | None = None,
        config: Mapping[str, Any] | None = None,
        enabled: bool | None = None,
        with_dependencies: bool = False,
        actor: str = "system",
    ) -> Installation:
        """Install ``name`` (latest release when ``version`` is None) or move the tenant's
        installation to another version. ``grants`` replaces the grants (everything else
        requested is declined); without it the current grants carry over and a capability
        the tenant has not decided on yet raises ``plugin.grant_required``."""
        target = self.registry.version(name, version, viewer=tenant_id)
        current = self.installations.find(tenant_id, name)
        decision = decide_grants(target.manifest, grants, current)
        if decision.undecided:
            raise GrantRequired(
                f"{target.manifest.key} requests capabilities this tenant has not granted: "
                f"{', '.join(decision.undecided)}; repeat the request with grants for them "
                "(or grant the ones you allow and leave the rest out to decline them)",
                capabilities=list(decision.undecided),
                version=target.version,
            )
        if config is None:
            config = current.config if current is not None else {}
        values = target.manifest.validate_config(config)
        self._install_dependencies(tenant_id, target, with_dependencies, actor)
        if enabled is None:
            enabled = current.enabled if current is not None else True
        saved = self.installations.save(
            tenant_id,
            name,
            version=target.version,
            enabled=enabled,
            decision=decision,
            config=values,
        )
        if current is None:
            action = "plugin.install"
        elif current.version != target.version:
            action = "plugin.upgrade"
        else:
            action = "plugin.reinstall"
        self._audit(
            tenant_id,
            action,
            actor,
            name,
            version=target.version,
            previous=current.version if current else None,
            granted=sorted(decision.grants),
            declined=list(decision.declined),
        )
        return self._refresh_lifecycle(tenant_id, name) or saved

    def _install_dependencies(
        self, tenant_id: str, target: PluginVersion, install: bool, actor: str
    ) -> None:
        missing: dict[str, str] = {}
        resolved = self.registry.resolve(target.name, target.version, viewer=tenant_id)
        for dep, text in target.manifest.dependencies.items():
            have = self.installations.find(tenant_id, dep)
            if have is None or not parse_range(text).contains(have.version):
                missing[dep] = resolved[dep]
        if not missing:
            return
        if not install:
            listing = ", ".join(f"{n}@{v}" for n, v in sorted(missing.items()))
            raise DependencyMissing(
                f"{target.manifest.key} needs {listing} installed; install them first or "
                "repeat with with_dependencies",
                missing=missing,
            )
        for dep, dep_version in sorted(missing.items()):
            # A fresh dependency gets no grants; an installed one keeps its own.
            keep = self.installations.find(tenant_id, dep) is not None
            self.install(
                tenant_id,
                dep,
                dep_version,
                grants=None if keep else {},
                with_dependencies=True,
                actor=actor,
            )

    def set_grants(
        self,
        tenant_id: str,
        name: str,
        grants: Mapping[str, Mapping[str, Any]] | Iterable[str],
        *,
        actor: str = "system",
    ) -> Installation:
        """Replace the grants of the installed version (requested capabilities left out are
        declined)."""
        current = self.installations.get(tenant_id, name)
        target = self.registry.version(name, current.version, viewer=EVERYTHING)
        decision = decide_grants(target.manifest, grants, None)
        saved = self.installations.save(
            tenant_id,
            name,
            version=current.version,
            enabled=current.enabled,
            decision=decision,
            config=current.config,
        )
        self._audit(
            tenant_id,
            "plugin.grant",
            actor,
            name,
            version=current.version,
            granted=sorted(decision.grants),
            declined=list(decision.declined),
        )
        return saved

    def configure(
        self,
        tenant_id: str,
        name: str,
        *,
        enabled: bool | None = None,
        config: Mapping[str, Any] | None = None,
        actor: str = "system",
    ) -> Installation:
        """Enable/disable the installation and/or replace its config values (fresh instances
        get the new config in ``abi_init``; the lifecycle checks run again)."""
        current = self.installations.get(tenant_id, name)
        changes: dict[str, Any] = {}
        if config is not None:
            manifest = self.registry.version(name, current.version, viewer=EVERYTHING).manifest
            changes["config"] = manifest.validate_config(config)
        if enabled is not None:
            changes["enabled"] = enabled
        if not changes:
            return current
        updated = self.installations.update(tenant_id, name, **changes)
        if enabled is not None and enabled != current.enabled:
            self._audit(tenant_id, "plugin.enable" if enabled else "plugin.disable", actor, name)
        if config is not None:
            self._audit(tenant_id, "plugin.config", actor, name, keys=sorted(config))
        return self._refresh_lifecycle(tenant_id, name) or updated

    def uninstall(
        self, tenant_id: str, name: str, *, keep_data: bool = False, actor: str = "system"
    ) -> None:
        """Remove the tenant's installation (and its kv data unless ``keep_data``)."""
        current = self.installations.get(tenant_id, name)
        for other in self.installations.list(tenant_id):
            if other.name == name:
                continue
            manifest = self.registry.version(other.name, other.version, viewer=EVERYTHING).manifest
            if name in manifest.dependencies:
                raise DependencyInUse(
                    f"{other.name} depends on {name}; uninstall {other.name} first",
                    dependent=other.name,
                )
        self.installations.delete(tenant_id, name)
        cleared = 0 if keep_data else self.kv.clear(tenant_id, name)
        self._drop(tenant_id, name)
        self._audit(
            tenant_id, "plugin.uninstall", actor, name, version=current.version, kv_cleared=cleared
        )

    def installation(self, tenant_id: str, name: str) -> Installation:
        return self.installations.get(tenant_id, name)

    def reload(self, tenant_id: str, name: str, *, actor: str = "system") -> Installation:
        """Swap in fresh instances of the installed version (every process: the revision
        moves); calls in flight finish on the old ones. Returns the new lifecycle results."""
        self.installations.update(tenant_id, name)
        self._audit(tenant_id, "plugin.reload", actor, name)
        return self._refresh_lifecycle(tenant_id, name) or self.installations.get(tenant_id, name)

    # Calls ------------------------------------------------------------------------------------

    def invoke(
        self,
        tenant_id: str,
        name: str,
        entry: str | None,
        data: bytes,
        stream_sink: Sink | None = None,
    ) -> CallResult:
        """Call ``entry`` of the tenant's installation of ``name`` on ``data``."""
        return self._callable(tenant_id, name).call(data, entry, sink=stream_sink)

    def _callable(self, tenant_id: str, name: str) -> Plugin:
        active = self._ensure(tenant_id, name)
        if active.plugin is None:
            raise self._disabled(name)
        return active.plugin

    @staticmethod
    def _observe(context: HostContext, usage: Usage | None, code: str | None) -> None:
        """Every call's usage, exported per tenant and plugin (the sandbox's call hook)."""
        callmetrics.record(context.tenant_id, context.plugin, usage, code or "ok")

    async def ainvoke(
        self,
        tenant_id: str,
        name: str,
        entry: str | None,
        data: bytes,
        stream_sink: Sink | None = None,
    ) -> CallResult:
        """:meth:`invoke` off the event loop; cancelling the awaiting task ends the Wasm call
        (``plugin.cancelled``)."""
        plugin = await asyncio.to_thread(self._callable, tenant_id, name)
        return await plugin.acall(data, entry, sink=stream_sink)

    def ensure_callable(self, tenant_id: str, name: str) -> None:
        """Raise now what a call would fail with before running (not installed, disabled)."""
        if self._ensure(tenant_id, name).plugin is None:
            raise self._disabled(name)

    @staticmethod
    def _disabled(name: str) -> Conflict:
        return Conflict(
            f"plugin {name!r} is disabled for this tenant; enable it first",
            code="plugin.disabled",
        )

    def event_sink(self, tenant_id: str, name: str, invocation_id: str) -> Sink:
        """A stream sink that publishes each chunk on the tenant's ``plugins.<name>.stream``
        topic as ``{"invocation_id", "seq", "chunk"}`` (chunk in base64)."""
        topic = stream_topic(name)
        seq = iter(range(1 << 62))

        def sink(chunk: bytes) -> None:
            self.platform.events.publish(
                tenant_id,
                topic,
                {
                    "invocation_id": invocation_id,
                    "seq": next(seq),
                    "chunk": base64.b64encode(chunk).decode("ascii"),
                },
            )

        return sink

    def invoke_streaming(
        self, tenant_id: str, name: str, entry: str | None, data: bytes, invocation_id: str
    ) -> CallResult | None:
        """Invoke with chunks streamed to the event bus, then a final event with ``done``
        and the output and usage (or the error). Returns the result, None on a call error."""
        topic = stream_topic(name)
        final: dict[str, Any] = {"invocation_id": invocation_id, "done": True}
        try:
            result = self.invoke(
                tenant_id, name, entry, data, self.event_sink(tenant_id, name, invocation_id)
            )
        except AbiError as exc:
            usage = getattr(exc, "usage", None)
            final["error"] = exc.to_dict()
            final["usage"] = usage.to_dict() if usage is not None else None
            self.platform.events.publish(tenant_id, topic, final)
            return None
        final["output"] = base64.b64encode(result.output).decode("ascii")
        final["usage"] = result.usage.to_dict()
        self.platform.events.publish(tenant_id, topic, final)
        return result

    @staticmethod
    def new_invocation_id() -> str:
        return "inv_" + uuid.uuid4().hex[:20]

    def check(self, tenant_id: str, name: str) -> dict[str, Any]:
        """Run the lifecycle checks now (recorded on the installation) and add this process's
        call counters: ``{"lifecycle": {...}, "host": {...}}``."""
        installation = self._refresh_lifecycle(tenant_id, name)
        if installation is None:
            raise NotInstalled(f"plugin {name!r} is not installed for this tenant", plugin=name)
        plugin = self._ensure(tenant_id, name).plugin
        host = plugin.host_stats() if plugin is not None else {}
        return {"lifecycle": installation.lifecycle, "host": host}

    # Active plugins -----------------------------------------------------------------------

    def _key_lock(self, key: tuple[str, str]) -> threading.Lock:
        with self._lock:
            return self._key_locks.setdefault(key, threading.Lock())

    def _ensure(self, tenant_id: str, name: str) -> _Active:
        """The active plugin at the installation's current revision (built or swapped in).
        The store is asked at most every ``revision_check_seconds`` per installation."""
        key = (tenant_id, name)
        active = self._active.get(key)
        now = time.monotonic()
        if active is not None and now - active.checked < self.revision_check_seconds:
            return active
        revision = self.installations.revision(tenant_id, name)
        if revision is None:
            self._drop(tenant_id, name)
            raise NotInstalled(f"plugin {name!r} is not installed for this tenant", plugin=name)
        if active is not None and active.revision >= revision:
            active.checked = now
            return active
        with self._key_lock(key):
            active = self._active.get(key)
            if active is not None and active.revision >= revision:
                return active
            fresh = self._build(tenant_id, name)
            with self._lock:
                old = self._active.get(key)
                self._active[key] = fresh
        if old is not None:
            old.close()
        return fresh

    def _build(self, tenant_id: str, name: str) -> _Active:
        installation = self.installations.get(tenant_id, name)
        version = self.registry.version(name, installation.version, viewer=EVERYTHING)
        if not installation.enabled:
            return _Active(installation.revision, version, installation, None)
        loaded = self._load(version)
        grants = {
            cap: params
            for cap, params in installation.grants.items()
            if cap in version.manifest.capabilities
        }
        plugin = self.sandbox.bind(
            loaded,
            tenant_id=tenant_id,
            grants=grants,
            config=installation.config,
            services=self._services(),
            pool_size=self.settings.pool_size,
            observer=self._observe,
        )
        return _Active(installation.revision, version, installation, plugin)

    def _load(self, version: PluginVersion) -> LoadedPlugin:
        with self._lock:
            loaded = self._loaded.get(version.bundle_digest)
        if loaded is None:
            loaded = self.sandbox.load_bundle(self.registry.bundle(version))
            with self._lock:
                self._loaded[version.bundle_digest] = loaded
        return loaded

    def _services(self) -> HostServices:
        """The host services this platform offers: providers that speak a host protocol
        directly, else adapters onto WDBX, the default embedder and the agents."""
        found: dict[str, Any] = {}
        for field_name, attrs, protocol in _SERVICE_PROVIDERS:
            for attr in attrs:
                provider = getattr(self.platform, attr, None)
                if provider is not None and _conforms(provider, protocol):
                    found[field_name] = provider
                    break
        vectors = getattr(self.platform, "vectors", None)
        if "vectors" not in found and hasattr(vectors, "search") and hasattr(vectors, "upsert"):
            found["vectors"] = VectorStoreAdapter(vectors)
        embedder = getattr(self.platform, "embedder", None)
        if "embed" not in found and hasattr(embedder, "embed"):
            found["embed"] = EmbedderAdapter(embedder)
        agents = getattr(self.platform, "agents", None)
        if "agents" not in found and hasattr(agents, "query"):
            found["agents"] = AgentQueryAdapter(agents)
        return HostServices(kv=self.kv, **found)

    def _invalidate(self, tenant_id: str, name: str) -> None:
        """The installation changed here: the next call compares revisions again."""
        active = self._active.get((tenant_id, name))
        if active is not None:
            active.checked = float("-inf")

    def _drop(self, tenant_id: str, name: str) -> None:
        with self._lock:
            old = self._active.pop((tenant_id, name), None)
        if old is not None:
            old.close()

    def _refresh_lifecycle(self, tenant_id: str, name: str) -> Installation | None:
        """Bind the installation, run ``abi_init`` in a first instance, ask ``abi_health``
        and ``abi_metrics``, and record the results on the installation."""
        active = self._ensure(tenant_id, name)
        now = datetime.now(UTC).isoformat()
        if active.plugin is None:
            lifecycle: dict[str, Any] = {"enabled": False, "checked_at": now}
        else:
            lifecycle = {"checked_at": now, **self._lifecycle(active.plugin)}
        try:
            return self.installations.update(tenant_id, name, lifecycle=lifecycle, bump=False)
        except NotInstalled:
            return None

    @staticmethod
    def _lifecycle(plugin: Plugin) -> dict[str, Any]:
        exported = plugin.spec.compiled.optional
        result: dict[str, Any] = {}
        try:
            with plugin.pool.instance():
                pass
            result["init"] = {"ok": True, "exported": "abi_init" in exported}
        except PluginCallError as exc:
            result["init"] = {"ok": False, "error": exc.code, "message": exc.message}
            return result
        result["health"] = plugin.health()
        try:
            result["metrics"] = plugin.metrics()["plugin"]
        except PluginCallError as exc:
            result["metrics"] = {"error": exc.code, "message": exc.message}
        return result

    # Audit ----------------------------------------------------------------------------------

    def _audit(self, tenant_id: str, action: str, actor: str, target: str, **fields: Any) -> None:
        security = getattr(self.platform, "security", None)
        if security is not None:
            security.record(tenant_id, action, actor=actor, target=target, **fields)
