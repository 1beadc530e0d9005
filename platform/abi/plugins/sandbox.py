"""The sandbox: load (validate + compile) plugins and call them under limits.

```python
sandbox = Sandbox(settings.plugins, cache_dir=settings.data_dir / "plugins" / "cache")
loaded = sandbox.load_bundle(Bundle.from_folder("wasm-plugins/echo"))
plugin = sandbox.bind(loaded, tenant_id="acme", grants=["log"], config={"lang": "en"})
result = plugin.call(b"input bytes")          # CallResult(output, usage)
result = await plugin.acall(b"input bytes")   # same, off the event loop
```

Every call returns its usage; every failure is a :class:`~abi.plugins.errors.PluginCallError`
with a code from ABI.md §5; the host process survives all of them.
"""

from __future__ import annotations

import asyncio
import json
import logging
import threading
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

import wasmtime

from abi.config import PluginSettings, Settings
from abi.errors import InvalidInput
from abi.plugins.bundle import Bundle
from abi.plugins.cache import CompileCache
from abi.plugins.engine import EngineOptions, engine_options, get_engine
from abi.plugins.errors import AbiMismatch, PluginCallError
from abi.plugins.grants import GrantSpec, resolve_grants
from abi.plugins.host.base import HostContext, HostServices
from abi.plugins.instance import CancelToken, Instance, InstanceSpec, Sink
from abi.plugins.limits import MIB, Limits
from abi.plugins.linking import linker_for
from abi.plugins.loader import CompiledModule, compile_module
from abi.plugins.manifest import ABI_VERSION, Manifest
from abi.plugins.pool import InstancePool
from abi.plugins.usage import CallResult, Usage

CallObserver = Callable[[HostContext, Usage | None, str | None], None]
"""Called after every call with the tenant/plugin context, the usage and the error code (None
on success): the hook for per-tenant, per-plugin metrics."""

log = logging.getLogger("abi.plugins.sandbox")


def cache_dir(settings: Settings) -> Path:
    """Where the compile cache lives: ``<data_dir>/plugins/cache``."""
    return settings.data_dir / "plugins" / "cache"


@dataclass(frozen=True)
class LoadedPlugin:
    """A validated, compiled plugin version, ready to be bound to tenants."""

    compiled: CompiledModule

    @property
    def manifest(self) -> Manifest:
        """The manifest the module was checked against."""
        return self.compiled.manifest

    @property
    def sha256(self) -> str:
        """Hex SHA-256 of the module bytes."""
        return self.compiled.sha256


@dataclass
class PluginStats:
    """Totals over the calls through one bound plugin (failures also by error code)."""

    calls: int = 0
    errors: int = 0
    errors_by_code: dict[str, int] = field(default_factory=dict)
    fuel: int = 0
    wall_us: int = 0
    host_calls: int = 0


class Plugin:
    """A plugin version bound to one tenant's grants, config and services; thread-safe."""

    def __init__(
        self,
        spec: InstanceSpec,
        pool_size: int,
        *,
        fresh: bool,
        observer: CallObserver | None = None,
    ) -> None:
        self.spec = spec
        self.observer = observer
        self.manifest = spec.compiled.manifest
        self.limits = spec.limits
        self.context = spec.context
        self.pool = InstancePool(self._new_instance, pool_size, fresh=fresh)
        self.stats = PluginStats()
        self._stats_lock = threading.Lock()
        self._init_input = (
            json.dumps(dict(spec.context.config)).encode()
            if "abi_init" in spec.compiled.optional
            else None
        )

    def _new_instance(self) -> Instance:
        inst = Instance(self.spec)
        if self._init_input is not None:
            try:
                inst.call_lifecycle("abi_init", self._init_input)
            except PluginCallError as exc:
                inst.close()
                exc.message = f"abi_init failed: {exc.message}"
                raise
        return inst

    def call(
        self,
        data: bytes,
        entry: str | None = None,
        *,
        sink: Sink | None = None,
        cancel: CancelToken | None = None,
    ) -> CallResult:
        """Run ``entry`` (default: the first entry point) on ``data``; ``cancel`` lets
        another thread end it early (``plugin.cancelled``)."""
        name = entry or self.manifest.entry_points[0]
        if name not in self.manifest.entry_points:
            raise InvalidInput(
                f"{self.manifest.name} has no entry point {name!r}; it has "
                f"{', '.join(self.manifest.entry_points)}",
                code="plugin.entry_not_found",
            )
        if len(data) > self.limits.memory_bytes:
            raise PluginCallError(
                f"input is {len(data)} bytes; the plugin's memory cap is "
                f"{self.limits.memory_bytes}",
                code="plugin.input_too_large",
            )
        inst = self.pool.take()
        try:
            result = inst.call(name, data, sink, cancel)
        except PluginCallError as exc:
            self._record(exc.usage, exc.code)
            raise
        finally:
            self.pool.give_back(inst)
        self._record(result.usage, None)
        return result

    async def acall(
        self, data: bytes, entry: str | None = None, *, sink: Sink | None = None
    ) -> CallResult:
        """:meth:`call` in a worker thread, so the event loop keeps running. Cancelling the
        awaiting task ends the Wasm call within a few epoch ticks."""
        token = CancelToken()
        try:
            return await asyncio.to_thread(self.call, data, entry, sink=sink, cancel=token)
        except asyncio.CancelledError:
            token.cancel()
            raise

    def _record(self, usage: Usage | None, code: str | None) -> None:
        with self._stats_lock:
            self.stats.calls += 1
            if usage is not None:
                self.stats.fuel += usage.fuel
                self.stats.wall_us += usage.wall_us
                self.stats.host_calls += usage.host_calls
            if code is not None:
                self.stats.errors += 1
                self.stats.errors_by_code[code] = self.stats.errors_by_code.get(code, 0) + 1
        if self.observer is not None:
            try:
                self.observer(self.context, usage, code)
            except Exception:
                log.exception("plugin call observer failed")

    def _lifecycle_json(self, name: str) -> dict[str, Any] | None:
        if name not in self.spec.compiled.optional:
            return None
        with self.pool.instance() as inst:
            raw = inst.call_lifecycle(name, None)
        try:
            value = json.loads(raw)
        except (UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise PluginCallError(f"{name} did not return JSON", code="plugin.bad_result") from exc
        if not isinstance(value, dict):
            raise PluginCallError(f"{name} must return a JSON object", code="plugin.bad_result")
        return value

    def health(self) -> dict[str, Any]:
        """``abi_health()`` when exported (else ``{"ok": true}``); a failure is ``ok: false``."""
        try:
            value = self._lifecycle_json("abi_health")
        except PluginCallError as exc:
            return {"ok": False, "error": exc.code, "message": exc.message}
        return value if value is not None else {"ok": True}

    def metrics(self) -> dict[str, Any]:
        """The plugin's own ``abi_metrics()`` (empty when not exported) plus host counters."""
        own = self._lifecycle_json("abi_metrics") or {}
        return {"plugin": own, "host": self.host_stats()}

    def host_stats(self) -> dict[str, Any]:
        """This process's counters of the plugin's calls and instances (no guest code runs)."""
        with self._stats_lock:
            return {
                **asdict(self.stats),
                "instances_created": self.pool.created,
                "instances_retired": self.pool.retired,
            }

    def close(self) -> None:
        """Release idle instances; calls in flight finish on theirs."""
        self.pool.close()


class Sandbox:
    """Loads plugins into the process's engine and binds them to tenants."""

    def __init__(self, settings: PluginSettings, cache_dir: Path | None = None) -> None:
        self.settings = settings
        self.engine, self.ticker = get_engine(EngineOptions.from_settings(settings))
        self.cache = CompileCache(cache_dir) if cache_dir is not None else None

    @classmethod
    def from_settings(cls, settings: Settings, *, cache: bool = True) -> Sandbox:
        """A sandbox with the platform's ceilings and the compile cache in the data dir."""
        return cls(settings.plugins, cache_dir(settings) if cache else None)

    def load(self, manifest: Manifest, wasm: bytes) -> LoadedPlugin:
        """Validate and compile a module for ``manifest``, then check ``abi_version() == 1``
        in a probe instance (all capabilities denied)."""
        compiled = compile_module(
            self.engine, self.cache, manifest, wasm, max_module_bytes=self.settings.max_module_bytes
        )
        self._probe(compiled)
        return LoadedPlugin(compiled)

    def load_bundle(self, bundle: Bundle) -> LoadedPlugin:
        """:meth:`load` for a bundle's manifest and module (its signature is checked elsewhere)."""
        return self.load(bundle.manifest, bundle.module)

    def _probe(self, compiled: CompiledModule) -> None:
        spec = self._spec(
            compiled, HostContext("(probe)", compiled.manifest.name, compiled.manifest.version, {})
        )
        inst = Instance(spec)
        try:
            version = inst.abi_version()
        finally:
            inst.close()
        if version != ABI_VERSION:
            raise AbiMismatch(
                f"abi_version() returned {version}; this host speaks guest ABI v{ABI_VERSION}"
            )

    def _spec(self, compiled: CompiledModule, context: HostContext) -> InstanceSpec:
        manifest = compiled.manifest
        linker = linker_for(self.engine, manifest.capabilities, context.grants)
        try:
            pre = linker.instantiate_pre(compiled.module)
        except wasmtime.WasmtimeError as exc:
            raise PluginCallError(f"cannot link the module: {exc}", code="plugin.trap") from exc
        return InstanceSpec(
            engine=self.engine,
            ticker=self.ticker,
            pre=pre,
            compiled=compiled,
            limits=self.limits_for(manifest),
            context=context,
            host_call_seconds=self.settings.host_call_seconds,
        )

    def limits_for(self, manifest: Manifest) -> Limits:
        """The manifest's limits, clamped to the settings and to what the process's engine
        was built for (its instance slots have a fixed size)."""
        limits = manifest.effective_limits(self.settings)
        built = engine_options()
        if built is None:
            return limits
        return replace(
            limits,
            memory_mb=max(1, min(limits.memory_mb, built.max_memory_bytes // MIB)),
            tables=min(limits.tables, built.max_table_elements),
        )

    def bind(
        self,
        loaded: LoadedPlugin,
        *,
        tenant_id: str = "local",
        grants: GrantSpec = None,
        config: Mapping[str, Any] | None = None,
        services: HostServices | None = None,
        fresh: bool = False,
        pool_size: int | None = None,
        log_sink: Callable[[int, str], None] | None = None,
        observer: CallObserver | None = None,
    ) -> Plugin:
        """A callable plugin for one tenant. ``grants=None`` grants every requested
        capability; ``config`` is checked against the manifest's ``config_schema``."""
        manifest = loaded.manifest
        context = HostContext(
            tenant_id=tenant_id,
            plugin=manifest.name,
            version=manifest.version,
            grants=resolve_grants(manifest, grants),
            config=manifest.validate_config(config or {}),
            services=services or HostServices(),
            log_sink=log_sink,
        )
        spec = self._spec(loaded.compiled, context)
        return Plugin(spec, pool_size or self.settings.pool_size, fresh=fresh, observer=observer)
