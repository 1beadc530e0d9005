"""Chooses, per operation and size, the device that runs it (None means numpy)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from abi.compute.devices import NO_OPENCL_HINT, discover
from abi.errors import Unavailable


class Dispatcher:
    """Routes operations; this revision keeps every operation on numpy."""

    @classmethod
    def create(cls, backend: str, cache_dir: Path | None) -> Dispatcher | None:
        if backend == "opencl" and not discover():
            raise Unavailable(NO_OPENCL_HINT, code="compute.no_opencl")
        return None

    def pick(self, op: str, work: float) -> Any:
        return None

    def describe(self) -> dict[str, Any]:
        return {"active": "numpy", "devices": []}

    def close(self) -> None:
        return None
