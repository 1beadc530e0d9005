"""One sandboxed instance (a Store and its Instance) and the fast call path into it.

Calls go through :mod:`abi.plugins.rawcall` with preallocated argument buffers; the only
per-call Python work is setting fuel and deadline, copying input and output, and reading
usage. An instance is used by one thread at a time (the pool hands it out); a trap retires
it for good.
"""

from __future__ import annotations

import ctypes
import json
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import wasmtime
from wasmtime import _ffi as ffi

from abi.plugins import rawcall
from abi.plugins.engine import EpochTicker
from abi.plugins.errors import PluginCallError
from abi.plugins.host.base import CallAbort, HostContext, HostFailure
from abi.plugins.limits import Limits
from abi.plugins.linking import EPOCH_CALLBACK, LIVE, Binding, args_view, pack_result
from abi.plugins.loader import CompiledModule
from abi.plugins.traps import instantiation_error, trap_error
from abi.plugins.usage import CallResult, Usage

log = logging.getLogger("abi.plugins.instance")
MASK64 = (1 << 64) - 1
CHECK_TICKS = 5
"""Epoch ticks between checks of a long call's deadline and cancellation."""
KEEPS_INSTANCE = frozenset({"plugin.guest_error", "plugin.output_too_large"})
"""Call errors after which the instance is still sound (the handler returned normally)."""
PAGE = 65536
Sink = Callable[[bytes], None]


class CancelToken:
    """Set by a caller that no longer wants a call's result; the call ends at its next
    epoch check (``plugin.cancelled``)."""

    __slots__ = ("cancelled",)

    def __init__(self) -> None:
        self.cancelled = False

    def cancel(self) -> None:
        """Ask the running call to stop at its next epoch check."""
        self.cancelled = True


@dataclass(frozen=True)
class InstanceSpec:
    """Everything needed to create instances of one plugin for one tenant."""

    engine: wasmtime.Engine
    ticker: EpochTicker
    pre: wasmtime.InstancePre
    compiled: CompiledModule
    limits: Limits
    context: HostContext
    host_call_seconds: float

    @property
    def engine_ptr(self) -> int:
        """The ``wasm_engine_t*`` as an integer (for the raw C calls)."""
        return rawcall.pointer_value(self.engine.ptr())

    @property
    def pre_ptr(self) -> int:
        """The ``wasmtime_instance_pre_t*`` as an integer (for the raw C calls)."""
        return rawcall.pointer_value(self.pre.ptr())


class _Func:
    """A guest export held as a raw ``wasmtime_func_t`` (kept alive with its extern)."""

    __slots__ = ("addr", "extern")

    def __init__(self, extern: Any) -> None:
        self.extern = extern
        self.addr = ctypes.addressof(extern.of.func)


class Instance:
    """A live instance; ``call`` runs one entry point under the spec's limits."""

    def __init__(self, spec: InstanceSpec) -> None:
        self.spec = spec
        self.context: HostContext = spec.context
        self.limits = spec.limits
        self.retired = False
        self._args = (rawcall.ValRaw * 2)()
        self._args_addr = ctypes.addressof(self._args)
        self._host_args = (rawcall.ValRaw * 2)()
        self._host_args_addr = ctypes.addressof(self._host_args)
        self._trap = ctypes.c_void_p()
        self._trap_addr = ctypes.addressof(self._trap)
        self._fuel_slot = ctypes.c_uint64()
        self._tick_s = spec.ticker.tick_ms / 1000
        self._ticks = min(spec.ticker.ticks_for(self.limits.wall_ms), CHECK_TICKS)
        self._reset_call(None)
        self._store: int | None = rawcall.store_new(spec.engine_ptr, None, None)
        rawcall.store_epoch_deadline_callback(self._store, EPOCH_CALLBACK, None, None)
        rawcall.store_limiter(self._store, self.limits.memory_bytes, self.limits.tables, 1, 4, 1)
        self.ctx: int = rawcall.store_context_of(self._store)
        rawcall.set_fuel(self.ctx, self.limits.fuel)
        rawcall.set_epoch_deadline(self.ctx, self._ticks)
        LIVE[self.ctx] = self
        self._start_clock()
        self._instance = ffi.wasmtime_instance_t()
        self._instance_addr = ctypes.addressof(self._instance)
        error = rawcall.instance_pre_instantiate(
            spec.pre_ptr, self.ctx, self._instance_addr, self._trap_addr
        )
        if error or self._trap.value:
            self._instantiation_failed(error)
        self._memory_extern = self._export("memory")
        self._mem_addr = ctypes.addressof(self._memory_extern.of.memory)
        self.alloc = _Func(self._export("abi_alloc"))
        self._has_reset = "abi_reset" in spec.compiled.optional
        self.reset: _Func | None = None
        self.entries: dict[str, _Func] = {}

    # -- setup ---------------------------------------------------------------------------

    def _instantiation_failed(self, error: int | None) -> None:
        trap_ptr = self._trap.value
        self._trap.value = None
        trap = rawcall.take_trap(trap_ptr) if trap_ptr else None
        text = str(rawcall.error_from(error)) if error else ""
        abort = self.abort
        self.close()
        raise abort or instantiation_error(text, trap)

    def _export(self, name: str) -> Any:
        extern = ffi.wasmtime_extern_t()
        raw = name.encode()
        found = rawcall.instance_export_get(
            self.ctx, self._instance_addr, raw, len(raw), ctypes.addressof(extern)
        )
        if not found:
            raise PluginCallError(f"export {name!r} is missing", code="plugin.trap")
        return extern

    def function(self, name: str) -> _Func:
        """A guest export by name (lifecycle functions)."""
        return _Func(self._export(name))

    def _reset_call(self, sink: Sink | None, cancel: CancelToken | None = None) -> None:
        self.cancel = cancel
        self.abort: PluginCallError | None = None
        self.host_calls = 0
        self.denied_calls = 0
        self.streamed = 0
        self.chunks: list[bytes] = []
        self.sink = sink
        self.output_left = self.limits.output_bytes

    def _start_clock(self) -> None:
        self.started = time.perf_counter()
        self.deadline = time.monotonic() + self.limits.wall_ms / 1000
        self.host_deadline = self.deadline

    # -- guest memory ---------------------------------------------------------------------

    def _memory(self) -> tuple[int, int]:
        base = rawcall.memory_data(self.ctx, self._mem_addr) or 0
        return base, rawcall.memory_data_size(self.ctx, self._mem_addr)

    def _base_for(self, ptr: int, length: int) -> int:
        """The host address of guest memory ``[ptr, ptr+length)``, checked to be in bounds."""
        base, size = self._memory()
        if ptr < 0 or length < 0 or ptr + length > size:
            raise HostFailure("bad_argument", "pointer and length are outside guest memory")
        return base

    def read(self, ptr: int, length: int) -> bytes:
        """Copy ``length`` bytes of guest memory at ``ptr``; out of bounds is ``bad_argument``."""
        base = self._base_for(ptr, length)
        return ctypes.string_at(base + ptr, length) if length else b""

    def write(self, ptr: int, data: bytes) -> None:
        """Copy ``data`` into guest memory at ``ptr``; out of bounds is ``bad_argument``."""
        ctypes.memmove(self._base_for(ptr, len(data)) + ptr, data, len(data))

    def give(self, data: bytes) -> int:
        """Copy ``data`` into fresh guest memory (``abi_alloc``); the packed success result."""
        return self._give(data, error=False)

    def _give(self, data: bytes, *, error: bool) -> int:
        ptr = self._guest_alloc(len(data), self._host_args, self._host_args_addr)
        self.write(ptr, data)
        return pack_result(ptr, len(data), error=error)

    def _guest_alloc(self, size: int, args: Any, args_addr: int) -> int:
        if size == 0:
            return 0
        args[0].i32 = size
        self._invoke(self.alloc.addr, 1, args_addr)
        ptr = int(args[0].i32) & 0xFFFFFFFF
        if ptr == 0:
            raise PluginCallError(
                f"abi_alloc({size}) returned 0 (guest memory exhausted)",
                code="plugin.out_of_memory",
            )
        return ptr

    def emit(self, chunk: bytes) -> None:
        """Send a streamed chunk to the sink (or keep it), counted against the output limit."""
        self._charge_output(len(chunk))
        self.streamed += 1
        if self.sink is None:
            self.chunks.append(chunk)
            return
        try:
            self.sink(chunk)
        except Exception as exc:
            raise PluginCallError(
                f"the caller stopped taking streamed chunks ({type(exc).__name__}: {exc})",
                code="plugin.cancelled",
            ) from exc

    def _charge_output(self, size: int) -> None:
        self.output_left -= size
        if self.output_left < 0:
            raise PluginCallError(
                f"output is over the {self.limits.output_bytes}-byte limit",
                code="plugin.output_too_large",
            )

    def time_left(self) -> float:
        """Seconds until the call's wall-time deadline (host services wait at most this)."""
        return max(0.0, self.host_deadline - time.monotonic())

    # -- calls ------------------------------------------------------------------------------

    def _invoke(self, func_addr: int, nargs: int, args_addr: int) -> None:
        error = rawcall.func_call(self.ctx, func_addr, args_addr, nargs, self._trap_addr)
        if error or self._trap.value:
            self._fail(error)

    def _fail(self, error: int | None) -> None:
        self.retired = True
        trap = self._trap.value
        self._trap.value = None
        if trap:
            code, message = rawcall.take_trap(trap)
        else:
            code, message = None, ""
            if error:
                try:
                    rawcall.raise_error(error)
                except wasmtime.WasmtimeError as exc:
                    message = str(exc)
        if self.abort is not None:
            raise self.abort
        size = rawcall.memory_data_size(self.ctx, self._mem_addr)
        cap = self.limits.memory_bytes
        exhausted = size + max(PAGE, cap // 8) > cap
        raise trap_error(code, message, memory_exhausted=exhausted)

    def _begin(self, sink: Sink | None, cancel: CancelToken | None = None) -> None:
        self._reset_call(sink, cancel)
        rawcall.set_fuel(self.ctx, self.limits.fuel)
        rawcall.set_epoch_deadline(self.ctx, self._ticks)
        self._start_clock()

    def _usage(self, bytes_in: int) -> Usage:
        bytes_out = self.limits.output_bytes - self.output_left
        fuel = self.limits.fuel - rawcall.fuel_left(self.ctx, self._fuel_slot)
        return Usage(
            fuel=fuel,
            wall_us=int((time.perf_counter() - self.started) * 1_000_000),
            memory_bytes=rawcall.memory_data_size(self.ctx, self._mem_addr),
            host_calls=self.host_calls,
            denied_calls=self.denied_calls,
            bytes_in=bytes_in,
            bytes_out=bytes_out,
            streamed_chunks=self.streamed,
        )

    def call(
        self,
        entry: str,
        data: bytes,
        sink: Sink | None = None,
        cancel: CancelToken | None = None,
    ) -> CallResult:
        """Run ``entry`` on ``data``; raises PluginCallError (with usage) on any failure."""
        self._begin(sink, cancel)
        func = self.entries.get(entry)
        if func is None:
            func = self.entries[entry] = self.function(entry)
        try:
            output = self._run(func.addr, data)
        except PluginCallError as exc:
            if exc.code not in KEEPS_INSTANCE:
                self.retired = True
            if self.abort is None and self.denied_calls and exc.code == "plugin.guest_error":
                exc.code = "plugin.capability_denied"  # type: ignore[misc]
            exc.usage = self._usage(len(data))
            raise
        return CallResult(output, self._usage(len(data)), tuple(self.chunks))

    def _run(self, func_addr: int, data: bytes) -> bytes:
        args = self._args
        n = len(data)
        ptr = self._guest_alloc(n, args, self._args_addr)
        if n:
            base, size = self._memory()
            if ptr + n > size:
                raise PluginCallError(
                    "abi_alloc returned memory out of bounds", code="plugin.bad_result"
                )
            ctypes.memmove(base + ptr, data, n)
        args[0].i32 = ptr
        args[1].i32 = n
        self._invoke(func_addr, 2, self._args_addr)
        try:
            return self._result(args[0].i64)
        finally:
            self._after_handler()

    def _after_handler(self) -> None:
        """``abi_reset()`` after a handler returned (with output or with an error result)."""
        if not self._has_reset or self.retired:
            return
        if self.reset is None:
            self.reset = self.function("abi_reset")
        self._invoke(self.reset.addr, 0, self._args_addr)

    def _result(self, raw: int) -> bytes:
        """The output a handler's result points at; guest errors, bad results and oversized
        output raise."""
        value = raw & MASK64
        ptr, length = (value >> 32) & 0x7FFFFFFF, value & 0xFFFFFFFF
        base, size = self._memory()
        if ptr + length > size:
            raise PluginCallError(
                f"the result ({ptr}, {length}) points outside guest memory ({size} bytes)",
                code="plugin.bad_result",
            )
        if value >> 63:
            message = ctypes.string_at(base + ptr, min(length, 4096)).decode("utf-8", "replace")
            raise PluginCallError(
                message or "the plugin returned an error", code="plugin.guest_error"
            )
        self._charge_output(length)
        return ctypes.string_at(base + ptr, length) if length else b""

    def abi_version(self) -> int:
        """What the guest's ``abi_version()`` returns."""
        func = self.function("abi_version")
        self._begin(None)
        self._invoke(func.addr, 1, self._args_addr)
        return int(self._args[0].i32)

    def call_lifecycle(self, name: str, data: bytes | None) -> bytes:
        """Run a lifecycle export (abi_init with ``data``; abi_health/abi_metrics without)."""
        func = self.function(name)
        self._begin(None)
        try:
            if data is None:
                self._invoke(func.addr, 1, self._args_addr)
                return self._result(self._args[0].i64)
            return self._run(func.addr, data)
        except PluginCallError:
            self.retired = True
            raise

    def on_epoch(self, delta: Any) -> int:
        """The epoch deadline passed (from the engine's ticker): end the call when its time is
        up or it was cancelled (an error pointer), else extend the deadline (0)."""
        now = time.monotonic()
        if self.cancel is not None and self.cancel.cancelled:
            self.abort = PluginCallError("the call was cancelled", code="plugin.cancelled")
        elif now >= self.deadline:
            self.abort = PluginCallError(
                "the call passed its wall-time limit", code="plugin.timeout"
            )
        else:
            left = -(-(self.deadline - now) // self._tick_s)
            delta[0] = int(max(1, min(CHECK_TICKS, left)))
            return 0
        return int(rawcall.error_new(b"abi: call ended by the host") or 0)

    # -- host calls -----------------------------------------------------------------------

    def host_call(self, binding: Binding, args: Any) -> int:
        """Serve one host function call (from the linker's callback); 0 or a trap pointer."""
        try:
            self.host_calls += 1
            if self.host_calls > self.limits.host_calls:
                raise CallAbort(
                    PluginCallError(
                        f"more than {self.limits.host_calls} host calls",
                        code="plugin.host_call_limit",
                    )
                )
            sig = binding.signature
            view = args_view(args, max(len(sig.params), len(sig.results), 1))
            result = self._dispatch(binding, view)
            if sig.results:
                if sig.results[0] == "i64":
                    view[0].i64 = result or 0
                else:
                    view[0].i32 = result or 0
            return 0
        except CallAbort as abort:
            self.abort = abort.error
        except PluginCallError as exc:
            self.abort = exc
        except BaseException:
            log.exception("host function %s failed", binding.signature.name)
            self.abort = PluginCallError("a host function crashed", code="plugin.trap")
        return rawcall.new_trap(b"abi: call aborted by the host")

    def _dispatch(self, binding: Binding, view: Any) -> int | None:
        sig = binding.signature
        result_kind = sig.results[0] if sig.results else None
        if binding.impl is None:
            self.denied_calls += 1
            return self._failure(
                result_kind,
                HostFailure(
                    "capability_denied", f"capability {binding.capability!r} is not granted"
                ),
            )
        now = time.monotonic()
        if now >= self.deadline:
            raise PluginCallError("the call passed its wall-time limit", code="plugin.timeout")
        self.host_deadline = min(self.deadline, now + self.spec.host_call_seconds)
        params = [
            view[i].i32 if kind == "i32" else view[i].i64 for i, kind in enumerate(sig.params)
        ]
        try:
            result = binding.impl(self, *params)
        except HostFailure as failure:
            result = self._failure(result_kind, failure)
        if time.monotonic() > self.host_deadline:
            raise PluginCallError(
                f"host function {binding.capability}.{sig.name} passed its time bound",
                code="plugin.timeout",
            )
        return result

    def _failure(self, result_kind: str | None, failure: HostFailure) -> int | None:
        if result_kind == "i64":
            body = json.dumps({"code": failure.code, "message": failure.message}).encode()
            return self._give(body, error=True)
        if result_kind == "i32":
            return failure.status
        return None

    # -- teardown --------------------------------------------------------------------------

    def close(self) -> None:
        """Release the store (idempotent)."""
        self.retired = True
        store = getattr(self, "_store", None)
        if store:
            self._store = None
            if LIVE.get(self.ctx) is self:  # a later store may reuse the address
                del LIVE[self.ctx]
            rawcall.store_delete(store)

    def __del__(self) -> None:
        try:
            self.close()
        except Exception:  # interpreter shutdown: the store goes with the process
            return
