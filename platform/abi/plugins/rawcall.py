"""The fast path into Wasmtime: direct ctypes prototypes of the C API's unchecked calls.

wasmtime-py's typed ``Func.__call__`` converts every value through ``Val`` objects and costs
tens of microseconds; the functions here pass plain integers (addresses of preallocated
argument buffers) to ``wasmtime_func_call_unchecked`` and cost a couple of microseconds. The
prototypes are our own objects (built from the same shared library), so the package's own
bindings are left untouched.

Everything here is low level and unchecked: callers pass only functions whose signatures they
have verified (see :mod:`abi.plugins.loader`).
"""

from __future__ import annotations

import ctypes
from ctypes import c_bool, c_int64, c_size_t, c_uint8, c_uint64, c_void_p
from typing import Any

import wasmtime
from wasmtime import _ffi as ffi

_dll = ffi.dll
ValRaw = ffi.wasmtime_val_raw
ValRawPtr = ctypes.POINTER(ValRaw)

func_call = ctypes.CFUNCTYPE(c_void_p, c_void_p, c_void_p, c_void_p, c_size_t, c_void_p)(
    ("wasmtime_func_call_unchecked", _dll)
)
"""``(ctx, func*, args_and_results*, len, trap**) -> error*``; releases the GIL."""
memory_data = ctypes.CFUNCTYPE(c_void_p, c_void_p, c_void_p)(("wasmtime_memory_data", _dll))
memory_data_size = ctypes.CFUNCTYPE(c_size_t, c_void_p, c_void_p)(
    ("wasmtime_memory_data_size", _dll)
)
set_fuel = ctypes.CFUNCTYPE(c_void_p, c_void_p, c_uint64)(("wasmtime_context_set_fuel", _dll))
get_fuel = ctypes.CFUNCTYPE(c_void_p, c_void_p, c_void_p)(("wasmtime_context_get_fuel", _dll))
set_epoch_deadline = ctypes.CFUNCTYPE(None, c_void_p, c_uint64)(
    ("wasmtime_context_set_epoch_deadline", _dll)
)
caller_context = ctypes.CFUNCTYPE(c_void_p, c_void_p)(("wasmtime_caller_context", _dll))
instance_export_get = ctypes.CFUNCTYPE(c_bool, c_void_p, c_void_p, c_void_p, c_size_t, c_void_p)(
    ("wasmtime_instance_export_get", _dll)
)
trap_code = ctypes.CFUNCTYPE(c_bool, c_void_p, c_void_p)(("wasmtime_trap_code", _dll))
trap_new = ctypes.CFUNCTYPE(c_void_p, c_void_p, c_size_t)(("wasmtime_trap_new", _dll))

store_new = ctypes.CFUNCTYPE(c_void_p, c_void_p, c_void_p, c_void_p)(("wasmtime_store_new", _dll))
"""``(engine*, data, finalizer) -> store*``."""
store_context_of = ctypes.CFUNCTYPE(c_void_p, c_void_p)(("wasmtime_store_context", _dll))
store_limiter = ctypes.CFUNCTYPE(None, c_void_p, c_int64, c_int64, c_int64, c_int64, c_int64)(
    ("wasmtime_store_limiter", _dll)
)
"""``(store*, memory_bytes, table_elements, instances, tables, memories)``."""
store_delete = ctypes.CFUNCTYPE(None, c_void_p)(("wasmtime_store_delete", _dll))
instance_pre_instantiate = ctypes.CFUNCTYPE(c_void_p, c_void_p, c_void_p, c_void_p, c_void_p)(
    ("wasmtime_instance_pre_instantiate", _dll)
)
"""``(instance_pre*, ctx, instance_t* out, trap** out) -> error*``."""

EpochCallback = ctypes.CFUNCTYPE(
    c_size_t, c_void_p, c_void_p, ctypes.POINTER(c_uint64), ctypes.POINTER(c_uint8)
)
"""``(ctx, env, deadline_delta*, update_kind*) -> error*``: runs when a store's epoch
deadline is reached; returning an error ends the Wasm call."""
store_epoch_deadline_callback = ctypes.CFUNCTYPE(None, c_void_p, EpochCallback, c_void_p, c_void_p)(
    ("wasmtime_store_epoch_deadline_callback", _dll)
)
error_new = ctypes.CFUNCTYPE(c_void_p, ctypes.c_char_p)(("wasmtime_error_new", _dll))

HostCallback = ctypes.CFUNCTYPE(c_size_t, c_void_p, c_void_p, ValRawPtr, c_size_t)
"""The unchecked host-function callback: ``(env, caller*, args_and_results*, len) -> trap*``."""
Finalizer = ctypes.CFUNCTYPE(None, c_void_p)
linker_define_func_unchecked = ctypes.CFUNCTYPE(
    c_void_p,
    c_void_p,
    ctypes.c_char_p,
    c_size_t,
    ctypes.c_char_p,
    c_size_t,
    c_void_p,
    HostCallback,
    c_void_p,
    Finalizer,
)(("wasmtime_linker_define_func_unchecked", _dll))
NO_FINALIZER = Finalizer()


def address(obj: Any) -> int:
    """The address of a ctypes object (or a wasmtime-py wrapper's context pointer)."""
    return ctypes.addressof(obj)


def pointer_value(ptr: Any) -> int:
    """The integer value of a ctypes pointer."""
    value = ctypes.cast(ptr, c_void_p).value
    return int(value or 0)


def raise_error(error_ptr: int) -> None:
    """Turn a non-null ``wasmtime_error_t*`` into a raised :class:`wasmtime.WasmtimeError`."""
    raise error_from(error_ptr)


def error_from(error_ptr: int) -> wasmtime.WasmtimeError:
    """The :class:`wasmtime.WasmtimeError` of a ``wasmtime_error_t*`` (which it now owns)."""
    return wasmtime.WasmtimeError._from_ptr(
        ctypes.cast(error_ptr, ctypes.POINTER(ffi.wasmtime_error_t))
    )


def take_trap(trap_ptr: int) -> tuple[int | None, str]:
    """The trap code (``wasmtime.TrapCode`` value, None when none) and message of a trap,
    which is freed."""
    code = c_uint8()
    has_code = trap_code(trap_ptr, ctypes.addressof(code))
    trap = wasmtime.Trap._from_ptr(ctypes.cast(trap_ptr, ctypes.POINTER(ffi.wasm_trap_t)))
    message = trap.message
    return (code.value if has_code else None), message


def new_trap(message: bytes) -> int:
    """A new ``wasm_trap_t*`` for a host callback to return."""
    buf = ctypes.create_string_buffer(message, len(message))
    return int(trap_new(ctypes.addressof(buf), len(message)) or 0)


def fuel_left(ctx: int, slot: c_uint64) -> int:
    """The store's remaining fuel (``slot`` is a reusable buffer)."""
    get_fuel(ctx, ctypes.addressof(slot))
    return int(slot.value)
