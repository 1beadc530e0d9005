"""Per-call limits: a manifest's ``[limits]`` clamped to the platform's ceilings (ABI.md §4)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, fields, replace
from typing import Any

from abi.config import PluginSettings

MIB = 1024 * 1024


@dataclass(frozen=True)
class Limits:
    """What one call may use. Every field is positive (``host_calls`` may be 0)."""

    fuel: int = 100_000_000
    """Wasm instructions (fuel units) per call."""
    wall_ms: int = 5_000
    """Wall-clock deadline per call, enforced by epochs in Wasm and checked in host calls."""
    memory_mb: int = 64
    """Linear memory cap; ``memory.grow`` past it returns -1."""
    tables: int = 10_000
    """Table elements cap."""
    output_bytes: int = MIB
    """Output plus streamed chunks per call."""
    host_calls: int = 1_000
    """Host function calls per call."""

    @property
    def memory_bytes(self) -> int:
        """The memory cap in bytes."""
        return self.memory_mb * MIB

    def clamp(self, ceilings: PluginSettings) -> Limits:
        """These limits, each lowered to the platform ceiling where it is above it."""
        return replace(
            self,
            fuel=min(self.fuel, ceilings.max_fuel),
            wall_ms=min(self.wall_ms, int(ceilings.max_wall_seconds * 1000)),
            memory_mb=max(1, min(self.memory_mb, ceilings.max_memory_bytes // MIB)),
            tables=min(self.tables, ceilings.max_table_elements),
            output_bytes=min(self.output_bytes, ceilings.max_output_bytes),
            host_calls=min(self.host_calls, ceilings.max_host_calls),
        )

    def to_dict(self) -> dict[str, int]:
        """Every limit by field name."""
        return {f.name: getattr(self, f.name) for f in fields(self)}


LIMIT_KEYS = frozenset(f.name for f in fields(Limits))


def limits_from_mapping(values: Mapping[str, Any]) -> tuple[Limits, str | None]:
    """Limits from a manifest's ``[limits]`` table; the second item names a bad key, if any."""
    for key, value in values.items():
        if key not in LIMIT_KEYS:
            return Limits(), f"limits.{key}: unknown limit (known: {', '.join(sorted(LIMIT_KEYS))})"
        if not isinstance(value, int) or isinstance(value, bool):
            return Limits(), f"limits.{key}: must be an integer"
        minimum = 0 if key == "host_calls" else 1
        if value < minimum:
            return Limits(), f"limits.{key}: must be >= {minimum}"
    return Limits(**dict(values)), None
