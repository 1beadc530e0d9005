"""Kernel sources and their compiled programs: built once per device, cached on disk.

A cached binary is keyed by the SHA-256 of the source and build options and by the device's
platform, name and driver version, so a driver upgrade or an edited kernel rebuilds. Only
files this cache wrote are read (the name is the key; a binary that fails to load is
rebuilt from source and replaced).
"""

from __future__ import annotations

import hashlib
import logging
import os
import tempfile
import threading
import warnings
from pathlib import Path
from typing import Any

from abi.compute.devices import DeviceInfo
from abi.errors import Unavailable

log = logging.getLogger("abi.compute")

KERNEL_DIR = Path(__file__).resolve().parents[3] / "opencl"
"""The ``opencl/`` folder at the repository root (next to the ``platform`` source root)."""


def kernel_source(name: str) -> str:
    """The text of ``opencl/<name>.cl``."""
    path = KERNEL_DIR / f"{name}.cl"
    try:
        return path.read_text(encoding="utf-8")
    except FileNotFoundError as exc:
        raise Unavailable(
            f"OpenCL kernel source {path} is missing; run Abi from a full checkout",
            code="compute.kernel_missing",
        ) from exc


def cache_key(source: str, options: tuple[str, ...], device: DeviceInfo) -> str:
    """The on-disk cache name of a program binary: source, build options and device."""
    digest = hashlib.sha256()
    for part in (source, "\0".join(options), device.cache_key):
        digest.update(part.encode("utf-8"))
        digest.update(b"\x01")
    return digest.hexdigest()


_BUILD_LOCK = threading.Lock()


class Kernels:
    """A built program whose attributes are its kernels, each created once (a kernel object
    keeps its arguments, so callers serialise their launches)."""

    def __init__(self, program: Any) -> None:
        self.program = program
        self._kernels: dict[str, Any] = {}

    def __getattr__(self, name: str) -> Any:
        if name.startswith("_"):
            raise AttributeError(name)
        kernel = self._kernels.get(name)
        if kernel is None:
            import pyopencl as cl

            kernel = self._kernels[name] = cl.Kernel(self.program, name)
        return kernel


class ProgramCache:
    """Builds and remembers programs for one device (thread-safe)."""

    def __init__(self, context: Any, device: Any, info: DeviceInfo, cache_dir: Path | None):
        self.context = context
        self.device = device
        self.info = info
        self.cache_dir = cache_dir / "kernels" if cache_dir else None
        self._built: dict[tuple[str, tuple[str, ...]], Kernels] = {}
        self._lock = threading.Lock()
        self.stats = {"built": 0, "loaded": 0}

    def get(self, name: str, options: tuple[str, ...] = ()) -> Kernels:
        """The kernels of ``opencl/<name>.cl`` built with ``options``."""
        key = (name, options)
        with self._lock:
            program = self._built.get(key)
            if program is None:
                program = Kernels(self._build(name, options))
                self._built[key] = program
            return program

    def _build(self, name: str, options: tuple[str, ...]) -> Any:
        # one build at a time per process: builds are rare, and warnings.catch_warnings (used
        # to silence PoCL's AVX ABI notes) is not thread-safe
        with _BUILD_LOCK:
            return self._build_locked(name, options)

    def _build_locked(self, name: str, options: tuple[str, ...]) -> Any:
        import pyopencl as cl

        source = kernel_source(name)
        opts = [*options, "-cl-mad-enable"]
        path = None
        if self.cache_dir is not None:
            path = self.cache_dir / f"{name}-{cache_key(source, options, self.info)}.bin"
            if path.is_file():
                try:
                    program = cl.Program(self.context, [self.device], [path.read_bytes()])
                    with warnings.catch_warnings():
                        warnings.simplefilter("ignore", cl.CompilerWarning)
                        program.build(options=opts)
                    self.stats["loaded"] += 1
                    return program
                except Exception as exc:
                    log.warning("cached kernel %s unusable (%s); rebuilding", path.name, exc)
        try:
            with warnings.catch_warnings():
                # PoCL reports AVX ABI notes for wide vectors on every build: not actionable
                warnings.simplefilter("ignore", cl.CompilerWarning)
                program = cl.Program(self.context, source).build(
                    options=opts, devices=[self.device]
                )
        except cl.Error as exc:
            raise Unavailable(
                f"building OpenCL kernels {name}.cl failed on {self.info.name}: {exc}",
                code="compute.build_failed",
            ) from exc
        self.stats["built"] += 1
        if path is not None:
            write_cache_file(path, program.get_info(cl.program_info.BINARIES)[0])
        return program


def write_cache_file(path: Path, data: bytes) -> None:
    """Write ``path`` atomically; a cache that cannot be written (read-only home, full disk)
    is logged and skipped, never fatal."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-")
    except OSError as exc:
        log.warning("compute cache %s not writable (%s); continuing without it", path, exc)
        return
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
        os.replace(tmp, path)
    except OSError as exc:
        Path(tmp).unlink(missing_ok=True)
        log.warning("compute cache %s not writable (%s); continuing without it", path, exc)
