"""Linking host functions: one shared Linker per (requested, granted) capability set.

Every host function is defined with the C API's unchecked callback. The callback finds the
instance it serves from the caller's store context (:data:`LIVE`), so one linker (and one
``InstancePre`` per module) serves every store. Granted capabilities get their real
implementation; requested but ungranted ones get a denial stub (ABI.md §3).
"""

from __future__ import annotations

import ctypes
import threading
import weakref
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, Protocol

import wasmtime

from abi.plugins import rawcall
from abi.plugins.capabilities import CATALOG, HostSignature
from abi.plugins.host import REGISTRY
from abi.plugins.host.base import HostImpl


@dataclass(frozen=True)
class Binding:
    """One linked host function: where it comes from and whether it is a denial stub."""

    capability: str
    signature: HostSignature
    impl: HostImpl | None
    """None: the capability is not granted (denial stub)."""


class Dispatcher(Protocol):
    """An instance that serves host calls (see :class:`abi.plugins.instance.Instance`)."""

    def host_call(self, binding: Binding, args: Any) -> int:
        """Serve one host function call for the guest; 0 or a trap pointer."""
        ...

    def on_epoch(self, delta: Any) -> int:
        """The epoch deadline passed: 0 after extending it through ``delta``, or an error
        pointer that ends the call."""
        ...


LIVE: weakref.WeakValueDictionary[int, Dispatcher] = weakref.WeakValueDictionary()
"""Store context address -> the instance using that store (weak: an instance nobody holds is
collected, and its store freed, even if its plugin was never closed)."""

_DENIED_TRAP = b"abi: host call from a store that is not running a sandboxed call"


def _callback(binding: Binding) -> Any:
    """A C host-function callback that hands the call to the instance running in its store."""
    live = LIVE
    ctx_of = rawcall.caller_context

    def callback(_env: int | None, caller: int | None, args: Any, _nargs: int) -> int:
        try:
            instance = live.get(ctx_of(caller))
            if instance is None:
                return rawcall.new_trap(_DENIED_TRAP)
            return instance.host_call(binding, args)
        except BaseException:  # nothing may unwind into Wasmtime's C frames
            return rawcall.new_trap(b"abi: host dispatch failed")

    return rawcall.HostCallback(callback)


def _on_epoch(ctx: int | None, _env: int | None, delta: Any, kind: Any) -> int:
    try:
        kind[0] = 0  # continue (never yield: calls are synchronous)
        instance = LIVE.get(ctx or 0)
        if instance is None:
            return int(rawcall.error_new(b"abi: epoch deadline of an unknown store") or 0)
        return instance.on_epoch(delta)
    except BaseException:  # nothing may unwind into Wasmtime's C frames
        return int(rawcall.error_new(b"abi: epoch check failed") or 0)


EPOCH_CALLBACK = rawcall.EpochCallback(_on_epoch)
"""Runs for a store whose epoch deadline passed: the instance decides (time left, cancelled)."""

_callbacks: dict[tuple[str, str, bool], tuple[Binding, Any]] = {}
_linkers: dict[tuple[frozenset[str], frozenset[str]], wasmtime.Linker] = {}
_lock = threading.Lock()


def _callback_for(capability: str, signature: HostSignature, granted: bool) -> Any:
    """The (cached) C callback for one host function, real or a denial stub."""
    key = (capability, signature.name, granted)
    found = _callbacks.get(key)
    if found is None:
        impl = REGISTRY[capability].functions[signature.name] if granted else None
        binding = Binding(capability, signature, impl)
        found = (binding, _callback(binding))
        _callbacks[key] = found  # callbacks must outlive every linker that uses them
    return found[1]


def _functype(signature: HostSignature) -> wasmtime.FuncType:
    kinds = {"i32": wasmtime.ValType.i32, "i64": wasmtime.ValType.i64}
    return wasmtime.FuncType(
        [kinds[k]() for k in signature.params], [kinds[k]() for k in signature.results]
    )


def linker_for(
    engine: wasmtime.Engine, requested: Iterable[str], granted: Iterable[str]
) -> wasmtime.Linker:
    """The linker defining every function of ``requested`` capabilities, real for those in
    ``granted`` and denial stubs for the rest. Never a WASI linker."""
    req, allowed = frozenset(requested), frozenset(granted) & frozenset(requested)
    with _lock:
        linker = _linkers.get((req, allowed))
        if linker is not None:
            return linker
        linker = wasmtime.Linker(engine)
        linker_ptr = rawcall.pointer_value(linker.ptr())
        for name in sorted(req):
            spec = CATALOG[name]
            module = spec.module.encode()
            for signature in spec.functions:
                functype = _functype(signature)
                fn = signature.name.encode()
                error = rawcall.linker_define_func_unchecked(
                    linker_ptr,
                    module,
                    len(module),
                    fn,
                    len(fn),
                    rawcall.pointer_value(functype.ptr()),
                    _callback_for(name, signature, name in allowed),
                    None,
                    rawcall.NO_FINALIZER,
                )
                if error:
                    rawcall.raise_error(error)
        _linkers[(req, allowed)] = linker
        return linker


def pack_result(ptr: int, length: int, *, error: bool = False) -> int:
    """The signed i64 for a ``(ptr, len)`` result (ABI.md §2)."""
    value = (ptr << 32) | length | ((1 << 63) if error else 0)
    return value - (1 << 64) if value >= 1 << 63 else value


def args_view(args: Any, count: int) -> Any:
    """The first ``count`` raw values of a callback's argument buffer."""
    return ctypes.cast(args, ctypes.POINTER(rawcall.ValRaw * count)).contents
