"""The on-disk compile cache: ``Module.serialize`` output keyed by module digest, wasmtime
version and engine configuration.

Deserializing compiled code runs it as trusted machine code, so a cache file is loaded only
when it carries a valid HMAC-SHA256 tag made with this data directory's private cache key
(created with mode 0600 on first use). Anything else in the folder (a planted file, a file
from another machine or version, a truncated write) is ignored and recompiled.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import os
import secrets
import tempfile
from dataclasses import dataclass
from pathlib import Path

import wasmtime

from abi.plugins.engine import ENGINE_FINGERPRINT

log = logging.getLogger("abi.plugins.cache")
_TAG = 32
_KEY_FILE = "cache.key"


@dataclass
class CacheStats:
    """Lookups since the cache was opened; ``rejected``: files that failed their tag check or
    did not deserialize (the module is compiled again)."""

    hits: int = 0
    misses: int = 0
    rejected: int = 0


class CompileCache:
    """Compiles modules, reusing verified cache files in ``folder``."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.folder.mkdir(parents=True, exist_ok=True)
        self._key = self._load_key()
        self.stats = CacheStats()

    def _load_key(self) -> bytes:
        path = self.folder / _KEY_FILE
        try:
            key = path.read_bytes()
            if len(key) == 32:
                return key
        except FileNotFoundError:
            pass
        key = secrets.token_bytes(32)
        fd, tmp = tempfile.mkstemp(dir=self.folder, prefix=".key-")
        try:
            os.fchmod(fd, 0o600)
            os.write(fd, key)
        finally:
            os.close(fd)
        try:
            os.link(tmp, path)  # atomic: the first writer wins
        except FileExistsError:
            key = path.read_bytes()
        finally:
            os.unlink(tmp)
        return key

    def path_for(self, module_sha256: str) -> Path:
        """The cache file for a module under this Wasmtime build (engine fingerprint)."""
        digest = hashlib.sha256(f"{module_sha256}|{ENGINE_FINGERPRINT}".encode()).hexdigest()
        return self.folder / f"{digest}.cwasm"

    def _tag(self, module_sha256: str, payload: bytes) -> bytes:
        mac = hmac.new(self._key, digestmod=hashlib.sha256)
        mac.update(f"{module_sha256}|{ENGINE_FINGERPRINT}|".encode())
        mac.update(payload)
        return mac.digest()

    def load(self, engine: wasmtime.Engine, module_sha256: str) -> wasmtime.Module | None:
        """The cached compiled module, or None when absent or not verifiably ours."""
        path = self.path_for(module_sha256)
        try:
            blob = path.read_bytes()
        except FileNotFoundError:
            return None
        tag, payload = blob[:_TAG], blob[_TAG:]
        if len(blob) <= _TAG or not hmac.compare_digest(tag, self._tag(module_sha256, payload)):
            self.stats.rejected += 1
            log.warning("ignoring compile cache file %s: not written by this data dir", path)
            return None
        try:
            return wasmtime.Module.deserialize(engine, payload)
        except wasmtime.WasmtimeError:
            self.stats.rejected += 1
            return None

    def store(self, module: wasmtime.Module, module_sha256: str) -> None:
        """Write the compiled module (atomically) with its tag."""
        payload = bytes(module.serialize())
        path = self.path_for(module_sha256)
        fd, tmp = tempfile.mkstemp(dir=self.folder, prefix=".cwasm-")
        try:
            with os.fdopen(fd, "wb") as out:
                out.write(self._tag(module_sha256, payload))
                out.write(payload)
            os.replace(tmp, path)
        except OSError:
            Path(tmp).unlink(missing_ok=True)
            log.exception("could not write compile cache file %s", path)

    def compile(
        self, engine: wasmtime.Engine, wasm: bytes, module_sha256: str
    ) -> tuple[wasmtime.Module, bool]:
        """``(module, from_cache)``; compiles and stores on a miss. The caller validated
        ``wasm`` and its digest."""
        cached = self.load(engine, module_sha256)
        if cached is not None:
            self.stats.hits += 1
            return cached, True
        self.stats.misses += 1
        module = wasmtime.Module(engine, wasm)
        self.store(module, module_sha256)
        return module, False
