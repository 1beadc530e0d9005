"""The plugin benchmark behind ``abi bench plugins``: warm, naive, fresh and two-thread call
throughput, and module load times, each with its same-run baseline.

Figures are measured in rounds that alternate the paths being compared (this machine's speed
swings within seconds) and the median round is reported. Call rates come twice: per second of
wall time (the contract's keys) and per second of the calling thread's CPU time (``*_cpu_*``),
which a busy shared machine distorts much less.
"""

from __future__ import annotations

import statistics
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import wasmtime

from abi.config import PluginSettings
from abi.plugins.engine import WASMTIME_VERSION
from abi.plugins.manifest import parse_manifest
from abi.plugins.sandbox import LoadedPlugin, Plugin, Sandbox

ECHO_WAT = """
(module
  (memory (export "memory") 1)
  (global $heap (mut i32) (i32.const 1024))
  (func (export "abi_version") (result i32) i32.const 1)
  (func (export "abi_alloc") (param $n i32) (result i32)
    (local $p i32) global.get $heap local.set $p
    global.get $heap local.get $n i32.add global.set $heap local.get $p)
  (func (export "abi_reset") i32.const 1024 global.set $heap)
  (func (export "handle") (param $p i32) (param $n i32) (result i64)
    (i64.or (i64.shl (i64.extend_i32_u (local.get $p)) (i64.const 32))
            (i64.extend_i32_u (local.get $n))))
  (func (export "spin") (param $p i32) (param $n i32) (result i64)
    (local $i i32) (local $acc i32)
    (local.set $i (i32.const 1000000))
    (block $done (loop $l
      (br_if $done (i32.eqz (local.get $i)))
      (local.set $acc (i32.add (i32.mul (local.get $acc) (i32.const 31)) (local.get $i)))
      (local.set $i (i32.sub (local.get $i) (i32.const 1)))
      (br $l)))
    (i64.extend_i32_u (i32.and (local.get $acc) (i32.const 0))))
)
"""
MANIFEST = 'name = "bench"\nversion = "1.0.0"\nentry_points = ["handle", "spin"]\n'


def large_module_wat(functions: int = 100, ops: int = 150) -> str:
    """A valid ABI v1 module of about 100 KB: the echo plugin plus ``functions`` functions of
    ``ops`` arithmetic steps each (about 1 KB of code per function, like compiled code)."""
    funcs = []
    for i in range(functions):
        body = "(local.get $x)"
        for j in range(ops):
            if j % 8:
                body = f"(i32.add (i32.mul {body} (i32.const {i * 31 + j * 7 + 3})) (local.get $x))"
            else:
                body = f"(local.tee $x {body})"
        funcs.append(f'(func $f{i} (export "f{i}") (param $x i32) (result i32) {body})')
    return ECHO_WAT.rstrip().rstrip(")") + "\n" + "\n".join(funcs) + ")\n"


def _rate(fn: Callable[[], Any], calls: int) -> tuple[float, float]:
    """Calls per second of wall time and of this thread's CPU time (the second is what an
    idle core would reach: it does not count time the shared machine gave to others)."""
    start, cpu = time.perf_counter(), time.thread_time()
    for _ in range(calls):
        fn()
    return calls / (time.perf_counter() - start), calls / (time.thread_time() - cpu)


def _naive_caller(sandbox: Sandbox, wasm: bytes, payload: bytes) -> Callable[[], bytes]:
    """The typed wasmtime-py path: Func.__call__ + Memory.read/write, same limits per call."""
    module = wasmtime.Module(sandbox.engine, wasm)
    store = wasmtime.Store(sandbox.engine)
    store.set_limits(memory_size=64 << 20)
    instance = wasmtime.Linker(sandbox.engine).instantiate(store, module)
    exports = instance.exports(store)
    alloc, handle, reset, memory = (
        exports["abi_alloc"],
        exports["handle"],
        exports["abi_reset"],
        exports["memory"],
    )
    assert isinstance(alloc, wasmtime.Func) and isinstance(handle, wasmtime.Func)
    assert isinstance(reset, wasmtime.Func) and isinstance(memory, wasmtime.Memory)
    ticks = sandbox.ticker.ticks_for(5000)

    def call() -> bytes:
        store.set_fuel(100_000_000)
        store.set_epoch_deadline(ticks)
        ptr = alloc(store, len(payload))
        memory.write(store, payload, ptr)
        result = handle(store, ptr, len(payload))
        out_ptr, out_len = result >> 32, result & 0xFFFFFFFF
        out = bytes(memory.read(store, out_ptr, out_ptr + out_len))
        reset(store)
        return out

    return call


def _p50_us(plugin: Plugin, payload: bytes, calls: int) -> float:
    times = []
    for _ in range(calls):
        start = time.perf_counter_ns()
        plugin.call(payload)
        times.append(time.perf_counter_ns() - start)
    return statistics.median(times) / 1000


def _threaded_rate(plugin: Plugin, entry: str, threads: int, calls_each: int) -> float:
    barrier = threading.Barrier(threads + 1)

    def worker() -> None:
        barrier.wait()
        for _ in range(calls_each):
            plugin.call(b"", entry)

    pool = [threading.Thread(target=worker) for _ in range(threads)]
    for thread in pool:
        thread.start()
    barrier.wait()
    start = time.perf_counter()
    for thread in pool:
        thread.join()
    return threads * calls_each / (time.perf_counter() - start)


def _timed_load(settings: PluginSettings, folder: Path, wasm: bytes) -> tuple[bool, float, float]:
    """``(from_cache, wall ms, CPU ms of all threads)`` of one ready-to-call load."""
    manifest = parse_manifest(MANIFEST)
    start, cpu = time.perf_counter(), time.process_time()
    plugin = Sandbox(settings, folder).load(manifest, wasm)
    wall_ms = (time.perf_counter() - start) * 1000
    return plugin.compiled.from_cache, wall_ms, (time.process_time() - cpu) * 1000


def _load_times(settings: PluginSettings, wasm: bytes, repeats: int) -> dict[str, float]:
    samples: dict[str, list[float]] = {"cold": [], "cached": [], "cold_cpu": [], "cached_cpu": []}
    with tempfile.TemporaryDirectory() as tmp:
        for i in range(repeats):
            folder = Path(tmp) / str(i)
            for kind in ("cold", "cached"):
                from_cache, wall, cpu = _timed_load(settings, folder, wasm)
                assert from_cache == (kind == "cached")
                samples[kind].append(wall)
                samples[f"{kind}_cpu"].append(cpu)
    return {key: statistics.median(values) for key, values in samples.items()}


def run_benchmark(*, calls: int = 20_000, rounds: int = 3, load_repeats: int = 5) -> dict[str, Any]:
    """Measure everything; ``calls`` per round for the tiny-plugin paths."""
    settings = PluginSettings()
    sandbox = Sandbox(settings)
    wasm = bytes(wasmtime.wat2wasm(ECHO_WAT))
    loaded: LoadedPlugin = sandbox.load(parse_manifest(MANIFEST), wasm)
    warm = sandbox.bind(loaded, pool_size=4)
    fresh = sandbox.bind(loaded, fresh=True)
    payload = b"x" * 100
    assert warm.call(payload).output == payload
    naive = _naive_caller(sandbox, wasm, payload)
    assert naive() == payload
    keys = ("warm", "naive", "fresh", "warm_cpu", "naive_cpu", "fresh_cpu", "one", "two")
    samples: dict[str, list[float]] = {k: [] for k in keys}
    spin_calls = max(20, calls // 200)
    paths: dict[str, tuple[Callable[[], Any], int]] = {
        "warm": (lambda: warm.call(payload), calls),
        "naive": (naive, calls // 4),
        "fresh": (lambda: fresh.call(payload), calls // 4),
    }
    for _ in range(rounds):
        for name, (fn, count) in paths.items():
            wall, cpu = _rate(fn, count)
            samples[name].append(wall)
            samples[f"{name}_cpu"].append(cpu)
        samples["one"].append(_threaded_rate(warm, "spin", 1, spin_calls))
        samples["two"].append(_threaded_rate(warm, "spin", 2, spin_calls))
    med = {key: statistics.median(values) for key, values in samples.items()}
    big = bytes(wasmtime.wat2wasm(large_module_wat()))
    loads = _load_times(settings, big, load_repeats)
    warm_rate, naive_rate = med["warm"], med["naive"]
    spin_fuel = warm.call(b"", "spin").usage.fuel
    # Share of a spin call spent in Wasm (no GIL): one minus the Python overhead measured as
    # the CPU time of an empty call; Amdahl's law then bounds what two threads can gain.
    _, spin_cpu_rate = _rate(lambda: warm.call(b"", "spin"), spin_calls)
    _, empty_cpu_rate = _rate(lambda: warm.call(b""), calls // 4)
    gil_free = max(0.0, 1 - spin_cpu_rate / empty_cpu_rate)
    p50_us = _p50_us(warm, payload, min(calls, 5000))
    warm.close()
    fresh.close()
    return {
        "warm_calls_per_s": round(warm_rate),
        "warm_p50_us": round(p50_us, 2),
        "naive_calls_per_s": round(naive_rate),
        "warm_vs_naive": round(warm_rate / naive_rate, 2),
        "fresh_calls_per_s": round(med["fresh"]),
        "warm_cpu_calls_per_s": round(med["warm_cpu"]),
        "naive_cpu_calls_per_s": round(med["naive_cpu"]),
        "fresh_cpu_calls_per_s": round(med["fresh_cpu"]),
        "load_cold_ms": round(loads["cold"], 2),
        "load_cached_ms": round(loads["cached"], 3),
        "load_cold_vs_cached": round(loads["cold"] / loads["cached"], 1),
        "load_cold_cpu_ms": round(loads["cold_cpu"], 2),
        "load_cached_cpu_ms": round(loads["cached_cpu"], 3),
        "module_bytes": len(big),
        "one_thread_calls_per_s": round(med["one"], 1),
        "two_thread_calls_per_s": round(med["two"], 1),
        "two_thread_speedup": round(med["two"] / med["one"], 2),
        "spin_call_fuel": spin_fuel,
        "spin_gil_free_fraction": round(gil_free, 3),
        "two_thread_amdahl_bound": round(1 / ((1 - gil_free) + gil_free / 2), 2),
        "payload_bytes": len(payload),
        "rounds": rounds,
        "calls_per_round": calls,
        "wasmtime": WASMTIME_VERSION,
    }
