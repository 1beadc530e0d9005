"""The compute subsystem as a platform component: ``platform.compute`` and
``platform.embedder``."""

from __future__ import annotations

import os
from functools import cached_property
from pathlib import Path
from typing import Any

from abi.compute.api import Compute
from abi.config import Settings


def default_cache_dir() -> Path:
    """Per-user cache of compiled kernels and calibrations (``$XDG_CACHE_HOME/abi/compute``):
    both are keyed by device, driver and kernel sources, so every data directory of this
    machine shares them and calibrates once."""
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "abi" / "compute"


class ComputeComponent:
    """Owns the process's :class:`Compute` and its default text embedder.

    Devices are opened and kernels built lazily, on the first operation that needs them, so
    starting a platform costs nothing when nothing computes.
    """

    name = "compute"

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        cfg = settings.compute
        cache = cfg.cache_dir or default_cache_dir()
        self.compute = Compute(cfg.backend, cache)

    @cached_property
    def embedder(self) -> Any:
        """The configured default embedder (``compute.embedder`` setting)."""
        from abi.neural.embedders import create_embedder

        return create_embedder(self.settings.compute, self.compute)

    def models(self, root: Path) -> Any:
        """The per-tenant neural model registry stored under ``root``."""
        from abi.neural.models import ModelRegistry

        return ModelRegistry(root, self.compute)

    def start(self) -> None:
        return None

    def stop(self) -> None:
        self.compute.close()

    def health(self) -> dict[str, Any]:
        return {"ok": True, "backend": self.settings.compute.backend}
