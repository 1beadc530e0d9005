"""What a call used, and what it returned."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field


@dataclass
class Usage:
    """Resources one call consumed (returned with every result and every call error)."""

    fuel: int = 0
    wall_us: int = 0
    memory_bytes: int = 0
    """Linear memory size at the end of the call: memory never shrinks, so this is the peak."""
    host_calls: int = 0
    denied_calls: int = 0
    bytes_in: int = 0
    bytes_out: int = 0
    """Output plus streamed chunks."""
    streamed_chunks: int = 0

    def to_dict(self) -> dict[str, int]:
        """Every counter by field name."""
        return asdict(self)


@dataclass(frozen=True)
class CallResult:
    """A successful call's output bytes and usage (``chunks`` holds streamed chunks when the
    caller gave no sink)."""

    output: bytes
    usage: Usage
    chunks: tuple[bytes, ...] = field(default=())
