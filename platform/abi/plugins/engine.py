"""The process's one Wasmtime engine (fuel + epoch interruption) and its epoch ticker.

Every sandboxed store comes from this engine. A daemon thread increments the engine's epoch
every ``tick_ms``; a call's wall-time deadline is a number of ticks. The ticker starts with
the first engine and runs until the process exits.
"""

from __future__ import annotations

import importlib.metadata
import threading

import wasmtime

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
"""Identifies compiled code: the compile cache keys on it."""


class EpochTicker:
    """Increments an engine's epoch at a fixed interval from a daemon thread."""

    def __init__(self, engine: wasmtime.Engine, tick_ms: int) -> None:
        self.engine = engine
        self.tick_ms = tick_ms
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="abi-epoch-ticker", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        interval = self.tick_ms / 1000.0
        while not self._stop.wait(interval):
            self.engine.increment_epoch()

    def ticks_for(self, wall_ms: int) -> int:
        """Epoch ticks covering ``wall_ms`` (rounded up, plus one for the tick in progress)."""
        return -(-wall_ms // self.tick_ms) + 1

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=1)


_lock = threading.Lock()
_built: list[tuple[wasmtime.Engine, EpochTicker]] = []


def _build_engine() -> wasmtime.Engine:
    config = wasmtime.Config()
    for name, value in _CONFIG_FLAGS:
        setattr(config, name, value)
    return wasmtime.Engine(config)


def get_engine(tick_ms: int = 10) -> tuple[wasmtime.Engine, EpochTicker]:
    """The process-wide engine and its ticker (built on first use with ``tick_ms``)."""
    with _lock:
        if not _built:
            engine = _build_engine()
            _built.append((engine, EpochTicker(engine, tick_ms)))
        return _built[0]
