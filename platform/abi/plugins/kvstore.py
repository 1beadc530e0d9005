"""Key-value stores for the ``kv`` capability: in memory, and one JSON file per plugin
(used by ``abi plugin run --kv-dir``). The platform's SQL-backed store implements the same
:class:`abi.plugins.host.base.KeyValueStore` protocol."""

from __future__ import annotations

import base64
import hashlib
import json
import os
import tempfile
import threading
from pathlib import Path


def _usage(values: dict[str, bytes]) -> tuple[int, int]:
    """``(number of keys, total bytes of keys and values)`` of one plugin's values."""
    return len(values), sum(len(k.encode()) + len(v) for k, v in values.items())


class MemoryKeyValueStore:
    """Thread-safe, in-process values; lost when the process ends."""

    def __init__(self) -> None:
        self._data: dict[tuple[str, str], dict[str, bytes]] = {}
        self._lock = threading.Lock()

    def get(self, tenant_id: str, plugin: str, key: str) -> bytes | None:
        with self._lock:
            return self._data.get((tenant_id, plugin), {}).get(key)

    def set(self, tenant_id: str, plugin: str, key: str, value: bytes) -> None:
        with self._lock:
            self._data.setdefault((tenant_id, plugin), {})[key] = bytes(value)

    def delete(self, tenant_id: str, plugin: str, key: str) -> bool:
        with self._lock:
            return self._data.get((tenant_id, plugin), {}).pop(key, None) is not None

    def stats(self, tenant_id: str, plugin: str) -> tuple[int, int]:
        with self._lock:
            values = self._data.get((tenant_id, plugin), {})
            return _usage(values)


class FileKeyValueStore:
    """One JSON file per (tenant, plugin) in ``folder``, rewritten atomically on change."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.folder.mkdir(parents=True, exist_ok=True)
        self._lock = threading.Lock()

    def _path(self, tenant_id: str, plugin: str) -> Path:
        name = hashlib.sha256(f"{tenant_id}\0{plugin}".encode()).hexdigest()[:32]
        return self.folder / f"{name}.json"

    def _load(self, tenant_id: str, plugin: str) -> dict[str, bytes]:
        try:
            raw = json.loads(self._path(tenant_id, plugin).read_text(encoding="utf-8"))
        except FileNotFoundError:
            return {}
        return {k: base64.b64decode(v) for k, v in raw.items()}

    def _save(self, tenant_id: str, plugin: str, values: dict[str, bytes]) -> None:
        body = json.dumps({k: base64.b64encode(v).decode("ascii") for k, v in values.items()})
        fd, tmp = tempfile.mkstemp(dir=self.folder, prefix=".kv-")
        with os.fdopen(fd, "w", encoding="utf-8") as out:
            out.write(body)
        os.replace(tmp, self._path(tenant_id, plugin))

    def get(self, tenant_id: str, plugin: str, key: str) -> bytes | None:
        with self._lock:
            return self._load(tenant_id, plugin).get(key)

    def set(self, tenant_id: str, plugin: str, key: str, value: bytes) -> None:
        with self._lock:
            values = self._load(tenant_id, plugin)
            values[key] = bytes(value)
            self._save(tenant_id, plugin, values)

    def delete(self, tenant_id: str, plugin: str, key: str) -> bool:
        with self._lock:
            values = self._load(tenant_id, plugin)
            if values.pop(key, None) is None:
                return False
            self._save(tenant_id, plugin, values)
            return True

    def stats(self, tenant_id: str, plugin: str) -> tuple[int, int]:
        with self._lock:
            values = self._load(tenant_id, plugin)
            return _usage(values)
