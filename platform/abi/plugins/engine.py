"""The process's one Wasmtime engine (fuel + epoch interruption) and its epoch ticker.

Every sandboxed store comes from this engine. A daemon thread increments the engine's epoch
every ``tick_ms``; a call's wall-time deadline is a number of ticks. The ticker starts with
the first engine and runs until the process exits.
"""

from __future__ import annotations

import importlib.metadata
import logging
import mmap
import threading
import time
from dataclasses import dataclass, replace

import wasmtime
from wasmtime import _ffi as ffi

from abi.config import PluginSettings

log = logging.getLogger("abi.plugins.engine")
MAX_WASM_STACK = 1024 * 1024
"""Bytes of native stack a call may use before it traps with stack overflow."""
_CONFIG_FLAGS = (
    ("consume_fuel", True),
    ("epoch_interruption", True),
    ("max_wasm_stack", MAX_WASM_STACK),
    ("cranelift_opt_level", "speed"),
    ("wasm_threads", False),
    ("wasm_memory64", False),
    ("wasm_component_model", False),
)
WASMTIME_VERSION = importlib.metadata.version("wasmtime")
ENGINE_FINGERPRINT = f"wasmtime-{WASMTIME_VERSION};" + ";".join(
    f"{name}={value}" for name, value in _CONFIG_FLAGS
)
"""Identifies compiled code: the compile cache keys on it (Wasmtime itself also refuses code
compiled for an incompatible engine configuration)."""


class EpochTicker:
    """Increments an engine's epoch at a fixed interval from a daemon thread (for the life of
    the process, like the engine)."""

    def __init__(self, engine: wasmtime.Engine, tick_ms: int) -> None:
        self.engine = engine
        self.tick_ms = tick_ms
        self._thread = threading.Thread(target=self._run, name="abi-epoch-ticker", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        interval = self.tick_ms / 1000.0
        while True:
            time.sleep(interval)
            self.engine.increment_epoch()

    def ticks_for(self, wall_ms: int) -> int:
        """Epoch ticks covering ``wall_ms`` (rounded up, plus one for the tick in progress)."""
        return -(-wall_ms // self.tick_ms) + 1


@dataclass(frozen=True)
class EngineOptions:
    """Process-wide engine settings (the first sandbox in a process decides them)."""

    tick_ms: int = 10
    instance_slots: int = 2048
    """Instances the pooling allocator pre-reserves; 0: allocate each store on demand."""
    max_memory_bytes: int = 512 * 1024 * 1024
    max_table_elements: int = 100_000

    @classmethod
    def from_settings(cls, settings: PluginSettings) -> EngineOptions:
        """The engine options the plugin settings ask for."""
        return cls(
            settings.epoch_tick_ms,
            settings.instance_slots,
            settings.max_memory_bytes,
            settings.max_table_elements,
        )


def _pooling(config: wasmtime.Config, options: EngineOptions) -> None:
    pooling = ffi.wasmtime_pooling_allocation_config_new()
    slots = options.instance_slots
    ffi.wasmtime_pooling_allocation_config_total_core_instances_set(pooling, slots)
    ffi.wasmtime_pooling_allocation_config_total_memories_set(pooling, slots)
    ffi.wasmtime_pooling_allocation_config_total_tables_set(pooling, slots)
    ffi.wasmtime_pooling_allocation_config_total_stacks_set(pooling, 0)
    ffi.wasmtime_pooling_allocation_config_max_memory_size_set(pooling, options.max_memory_bytes)
    ffi.wasmtime_pooling_allocation_config_table_elements_set(pooling, options.max_table_elements)
    # Reset the first 64 KiB of a reused slot with memset instead of decommitting it: a fresh
    # instance then starts without page faults (its memory is still all zeros).
    ffi.wasmtime_pooling_allocation_config_linear_memory_keep_resident_set(pooling, KEEP_RESIDENT)
    ffi.wasmtime_pooling_allocation_config_table_keep_resident_set(pooling, KEEP_RESIDENT)
    ffi.wasmtime_pooling_allocation_strategy_set(config.ptr(), pooling)
    ffi.wasmtime_pooling_allocation_config_delete(pooling)


KEEP_RESIDENT = 64 * 1024
_MAP_NORESERVE = 0x4000  # Linux; the mmap module does not export it before Python 3.13
_SLOT_BYTES = (4 << 30) + (64 << 20)
"""Address space one pooled memory slot reserves (Wasmtime's 4 GiB reservation + guards)."""


def _can_reserve(slots: int, max_memory_bytes: int) -> bool:
    """Whether the address space for the pool can be reserved: Wasmtime aborts the process
    (it cannot be caught) when it cannot, e.g. under ``ulimit -v``."""
    size = slots * max(_SLOT_BYTES, max_memory_bytes + (64 << 20)) + (1 << 30)
    flags = mmap.MAP_PRIVATE | mmap.MAP_ANONYMOUS | _MAP_NORESERVE
    try:
        probe = mmap.mmap(-1, size, flags=flags, prot=0)
    except (OSError, OverflowError, ValueError):
        return False
    probe.close()
    return True


def _build_engine(options: EngineOptions) -> tuple[wasmtime.Engine, EngineOptions]:
    if options.instance_slots > 0 and not _can_reserve(
        options.instance_slots, options.max_memory_bytes
    ):
        log.warning(
            "cannot reserve address space for %d instance slots; allocating on demand",
            options.instance_slots,
        )
        options = replace(options, instance_slots=0)
    config = wasmtime.Config()
    for name, value in _CONFIG_FLAGS:
        setattr(config, name, value)
    if options.instance_slots > 0:
        _pooling(config, options)
    return wasmtime.Engine(config), options


_lock = threading.Lock()
_built: list[tuple[wasmtime.Engine, EpochTicker, EngineOptions]] = []


def get_engine(options: EngineOptions | None = None) -> tuple[wasmtime.Engine, EpochTicker]:
    """The process-wide engine and its ticker, built on first use with ``options``; later
    calls get the same engine whatever they pass."""
    with _lock:
        if not _built:
            engine, opts = _build_engine(options or EngineOptions())
            _built.append((engine, EpochTicker(engine, opts.tick_ms), opts))
        return _built[0][0], _built[0][1]


def engine_options() -> EngineOptions | None:
    """The options the process's engine was built with (None before the first one)."""
    return _built[0][2] if _built else None
