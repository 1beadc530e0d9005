"""Mapping Wasmtime traps and instantiation failures to typed plugin errors (ABI.md §5)."""

from __future__ import annotations

import wasmtime

from abi.plugins.errors import PluginCallError, SandboxFull

_BY_TRAP_CODE = {
    wasmtime.TrapCode.OUT_OF_FUEL.value: ("plugin.out_of_fuel", "the call ran out of fuel"),
    wasmtime.TrapCode.INTERRUPT.value: ("plugin.timeout", "the call passed its wall-time limit"),
    wasmtime.TrapCode.STACK_OVERFLOW.value: ("plugin.stack_overflow", "call stack exhausted"),
}


def _first_line(message: str) -> str:
    """The informative line of a Wasmtime message (the cause, not the backtrace header)."""
    lines = [line.strip() for line in message.strip().splitlines() if line.strip()]
    if not lines:
        return "trap"
    if "Caused by:" in lines:
        return "; ".join(lines[lines.index("Caused by:") + 1 :]) or lines[0]
    return lines[0]


def trap_error(code: int | None, message: str, *, memory_exhausted: bool) -> PluginCallError:
    """The typed error for a trap. ``memory_exhausted``: the instance's memory is within an
    eighth of its cap, so a trap is taken as the guest failing after ``memory.grow`` was
    refused (it returns -1 rather than trapping)."""
    known = _BY_TRAP_CODE.get(code) if code is not None else None
    if known is not None:
        return PluginCallError(known[1], code=known[0])
    if memory_exhausted:
        return PluginCallError(
            f"the guest trapped at its memory cap ({_first_line(message)})",
            code="plugin.out_of_memory",
        )
    return PluginCallError(f"the guest trapped: {_first_line(message)}", code="plugin.trap")


def instantiation_error(text: str, trap: tuple[int | None, str] | None) -> PluginCallError:
    """The typed error for a failed instantiation: a trap in the start function, or an error
    (``text``) such as memory or tables over their caps."""
    if trap is not None:
        return trap_error(trap[0], trap[1], memory_exhausted=False)
    lowered = text.lower()
    if "concurrent limit" in lowered:
        raise SandboxFull(
            f"no free instance slot ({_first_line(text)}); raise plugins.instance_slots or "
            "lower plugins.pool_size"
        )
    if "memory" in lowered and ("limit" in lowered or "exceed" in lowered):
        return PluginCallError(
            f"the module needs more memory than its cap: {_first_line(text)}",
            code="plugin.out_of_memory",
        )
    if "table" in lowered and ("limit" in lowered or "exceed" in lowered):
        return PluginCallError(
            f"the module needs more table elements than its cap: {_first_line(text)}",
            code="plugin.out_of_memory",
        )
    return PluginCallError(f"instantiation failed: {_first_line(text)}", code="plugin.trap")
