"""The Platform: builds every subsystem from the settings, starts them in dependency order,
stops them in reverse and reports readiness. The HTTP server and the CLI are faces on it; tests
use it directly.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol, runtime_checkable

from abi.config import Settings, load_settings
from abi.events import LocalEventBus
from abi.store import BlobStore, Database, Migration
from abi.store import tenants as tenant_store
from abi.store.tenants import TenantDirectory

log = logging.getLogger("abi.runtime")


@runtime_checkable
class Component(Protocol):
    """A subsystem the Platform starts, stops and asks for health."""

    name: str

    def start(self) -> None: ...

    def stop(self) -> None: ...

    def health(self) -> dict[str, Any]:
        """``{"ok": bool, ...details}``; called often, must be cheap."""
        ...


@dataclass
class Readiness:
    ready: bool
    components: dict[str, dict[str, Any]] = field(default_factory=dict)


class Platform:
    """One Abi process's subsystems, wired together.

    Subsystems are attributes (``platform.db``, ``platform.blobs``, ...) built in
    :meth:`_build`; the ones that have a lifecycle are registered as components in the order
    they must start.
    """

    def __init__(self, settings: Settings | None = None) -> None:
        self.settings = settings or load_settings()
        self.settings.data_dir.mkdir(parents=True, exist_ok=True)
        self._components: list[Component] = []
        self._started: list[Component] = []
        self._lock = threading.Lock()
        self._build()

    def _build(self) -> None:
        data = self.settings.data_dir
        self.db = Database(self.settings.database_url)
        self.blobs = BlobStore(data / "blobs")
        self.tenants = TenantDirectory(self.db)
        self.events = LocalEventBus()
        self.migrations: list[Migration] = [*tenant_store.MIGRATIONS]
        # Subsystems register here, in dependency order (each one after what it uses).
        from abi.observability import Observability

        self.observability = Observability(self.settings)
        self.register(self.observability)

        from abi.cluster import Cluster

        self.cluster = Cluster(self.settings)  # Redis events and rate limits (store.redis_url)
        if self.cluster.events is not None:
            self.events = self.cluster.events
        self.register(self.cluster)

        from abi.security import Security
        from abi.security.tables import MIGRATIONS as SECURITY_MIGRATIONS

        self.security = Security(self.settings, self.db, self.tenants)
        self.register(self.security, SECURITY_MIGRATIONS)
        if self.cluster.limiter is not None:
            self.security.limiter = self.cluster.limiter
        from abi.compute.component import ComputeComponent

        self.compute_component = ComputeComponent(self.settings)
        self.compute = self.compute_component.compute
        self.embedder = self.compute_component.embedder
        self.neural = self.compute_component.models(data / "models")
        self.register(self.compute_component)

        from abi.vectors import VectorStore
        from abi.vectors.tables import MIGRATIONS as VECTOR_MIGRATIONS

        self.vectors = VectorStore(self.settings, self.db, self.compute)
        self.register(self.vectors, VECTOR_MIGRATIONS)

        from abi.plugins.service import MIGRATIONS as PLUGIN_MIGRATIONS
        from abi.plugins.service import PluginService

        self.plugins = PluginService(self)
        self.register(self.plugins, PLUGIN_MIGRATIONS)

        from abi.agents.service import MIGRATIONS as AGENT_MIGRATIONS
        from abi.agents.service import AgentService

        self.agents = AgentService(
            self.settings,
            self.db,
            self.events,
            self.embedder,
            secrets=self.security,
            plugins=self.plugins,
            vectors=self.vectors,
            compute=self.compute,
        )
        self.register(self.agents, AGENT_MIGRATIONS)

    def register(self, component: Component, migrations: Sequence[Migration] = ()) -> None:
        """Add a component (started after those registered before it) and its migrations."""
        self._components.append(component)
        self.migrations.extend(migrations)

    def start(self) -> None:
        """Migrate the store, then start every component in order; on failure, stop those
        already started and re-raise."""
        with self._lock:
            if self._started:
                return
            self.db.migrate(self.migrations)
            for component in self._components:
                try:
                    component.start()
                except Exception:
                    log.exception("component %s failed to start", component.name)
                    self._stop_started()
                    raise
                self._started.append(component)
                log.debug("started %s", component.name)

    def stop(self) -> None:
        """Stop the started components in reverse order; errors are logged, not raised."""
        with self._lock:
            self._stop_started()
            self.db.close()

    def _stop_started(self) -> None:
        while self._started:
            component = self._started.pop()
            try:
                component.stop()
            except Exception:
                log.exception("component %s failed to stop cleanly", component.name)

    def readiness(self) -> Readiness:
        """Per-component health; ready when the store answers and every component is ok."""
        components: dict[str, dict[str, Any]] = {"store": {"ok": self.db.ping()}}
        started = {id(c) for c in self._started}
        for component in self._components:
            if id(component) not in started:
                components[component.name] = {"ok": False, "reason": "not started"}
                continue
            try:
                components[component.name] = component.health()
            except Exception as exc:
                components[component.name] = {"ok": False, "reason": str(exc)}
        return Readiness(all(c.get("ok") for c in components.values()), components)

    def __enter__(self) -> Platform:
        self.start()
        return self

    def __exit__(self, *_exc: object) -> None:
        self.stop()
