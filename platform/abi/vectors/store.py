"""The VectorStore component (``platform.vectors``): tenant-scoped collections.

Every method takes the tenant id first. Collection definitions live in the SQL table
``vector_collections`` (read and written through a TenantScope); each collection's files live
under ``<data_dir>/vectors/<tenant_id>/<name>/``. Collections open lazily on first use; a
background thread snapshots those with many writes since their last snapshot.
"""

from __future__ import annotations

import json
import logging
import re
import shutil
import threading
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from abi.config import Settings
from abi.store import Database, TenantScope
from abi.vectors.collection import Collection, Hit
from abi.vectors.config import CollectionConfig, check_config
from abi.vectors.errors import CollectionExists, CollectionNotFound, VectorInputError
from abi.vectors.filters import Filter, compile_filter
from abi.vectors.records import VectorId
from abi.vectors.tables import vector_collections

log = logging.getLogger("abi.vectors")
_TENANT = re.compile(r"^[A-Za-z0-9_-]{1,64}$")


class VectorStore:
    """WDBX: create, write, search, snapshot and back up tenants' vector collections."""

    name = "vectors"

    def __init__(self, settings: Settings, db: Database, compute: Any = None) -> None:
        self.settings = settings
        self.vsettings = settings.vectors
        self.db = db
        self.compute = compute
        self.root = settings.data_dir / "vectors"
        self._open: dict[tuple[str, str], Collection] = {}
        self._lock = threading.RLock()
        self._wake = threading.Event()
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None

    # -- lifecycle -------------------------------------------------------------------

    def start(self) -> None:
        self.root.mkdir(parents=True, exist_ok=True)
        self._stopping.clear()
        self._thread = threading.Thread(
            target=self._snapshot_loop, name="wdbx-snapshots", daemon=True
        )
        self._thread.start()

    def stop(self) -> None:
        self._stopping.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout=60)
            self._thread = None
        with self._lock:
            for collection in self._open.values():
                try:
                    if collection.writes_since_snapshot:
                        collection.snapshot()
                finally:
                    collection.close()
            self._open.clear()

    def health(self) -> dict[str, Any]:
        return {
            "ok": self._thread is not None and self._thread.is_alive(),
            "open_collections": len(self._open),
        }

    def _snapshot_loop(self) -> None:
        while not self._stopping.is_set():
            self._wake.wait(timeout=1.0)
            self._wake.clear()
            with self._lock:
                due = [
                    c
                    for c in self._open.values()
                    if c.writes_since_snapshot >= self.vsettings.snapshot_every_writes
                ]
            for collection in due:
                try:
                    collection.snapshot()
                except Exception:
                    log.exception("snapshot of %s failed", collection.dir)

    # -- collections -----------------------------------------------------------------

    def _tenant_dir(self, tenant_id: str) -> Path:
        if not _TENANT.match(tenant_id):
            raise VectorInputError(f"tenant id {tenant_id!r} is not valid")
        return self.root / tenant_id

    def create_collection(
        self,
        tenant_id: str,
        name: str,
        dim: int,
        *,
        metric: str = "cosine",
        dtype: str = "f16",
        index: str = "hnsw",
        params: dict[str, Any] | None = None,
        payload_indexes: list[str] | tuple[str, ...] | None = None,
    ) -> dict[str, Any]:
        """Create a collection; ``CollectionExists`` if the tenant already has one so named."""
        spec = {
            "name": name,
            "dim": dim,
            "metric": metric,
            "dtype": dtype,
            "index": index,
            "params": params,
            "payload_indexes": payload_indexes,
        }
        config = check_config(spec, self.vsettings.max_dimension)
        return self._create(tenant_id, config)

    def _create(self, tenant_id: str, config: CollectionConfig) -> dict[str, Any]:
        name = config.name
        directory = self._tenant_dir(tenant_id) / name
        scope = TenantScope(tenant_id)
        now = datetime.now(UTC)
        with self.db.begin() as conn:
            if scope.one(conn, vector_collections, vector_collections.c.name == name):
                raise CollectionExists(f"collection {name!r} already exists")
            scope.insert(
                conn,
                vector_collections,
                {
                    "name": name,
                    "config": json.dumps(config.to_dict()),
                    "created_at": now,
                    "updated_at": now,
                },
            )
        shutil.rmtree(directory, ignore_errors=True)  # leftovers of a crashed drop
        with self._lock:
            self._open[(tenant_id, name)] = Collection(
                directory, config, self.vsettings, self.compute
            )
        return self.describe_collection(tenant_id, name)

    def _config(self, tenant_id: str, name: str) -> CollectionConfig:
        with self.db.begin() as conn:
            row = TenantScope(tenant_id).one(
                conn, vector_collections, vector_collections.c.name == name
            )
        if row is None:
            raise CollectionNotFound(f"collection {name!r} does not exist")
        return CollectionConfig.from_dict(json.loads(row["config"]))

    def collection(self, tenant_id: str, name: str) -> Collection:
        """The open collection (opened on first use); ``CollectionNotFound`` otherwise."""
        if not isinstance(name, str):
            raise CollectionNotFound(f"collection {name!r} does not exist")
        key = (tenant_id, name)
        with self._lock:
            found = self._open.get(key)
            if found is None:
                config = self._config(tenant_id, name)
                found = Collection(
                    self._tenant_dir(tenant_id) / name, config, self.vsettings, self.compute
                )
                self._open[key] = found
            return found

    def describe_collection(self, tenant_id: str, name: str) -> dict[str, Any]:
        collection = self.collection(tenant_id, name)
        return {**collection.config.to_dict(), "count": collection.count()}

    def list_collections(self, tenant_id: str) -> list[dict[str, Any]]:
        with self.db.begin() as conn:
            rows = TenantScope(tenant_id).all(
                conn, vector_collections, order_by=[vector_collections.c.name]
            )
        return [self.describe_collection(tenant_id, row["name"]) for row in rows]

    def drop_collection(self, tenant_id: str, name: str) -> None:
        """Delete a collection and its files."""
        self._config(tenant_id, name)
        with self._lock:
            with self.db.begin() as conn:
                TenantScope(tenant_id).delete(
                    conn, vector_collections, vector_collections.c.name == name
                )
            opened = self._open.pop((tenant_id, name), None)
            if opened is not None:
                opened.destroy()
            else:
                shutil.rmtree(self._tenant_dir(tenant_id) / name, ignore_errors=True)

    # -- vectors ---------------------------------------------------------------------

    def upsert(
        self, tenant_id: str, name: str, vectors: Any, ids: Any = None, payloads: Any = None
    ) -> list[VectorId]:
        """Insert or replace vectors; acknowledged once in the WAL. Returns the ids."""
        collection = self.collection(tenant_id, name)
        result = collection.upsert(vectors, ids, payloads)
        if collection.writes_since_snapshot >= self.vsettings.snapshot_every_writes:
            self._wake.set()
        return result

    def get(self, tenant_id: str, name: str, vid: Any, with_vector: bool = True) -> Hit:
        return self.collection(tenant_id, name).get(vid, with_vector)

    def update(
        self,
        tenant_id: str,
        name: str,
        vid: Any,
        *,
        vector: Any = None,
        payload: Any = None,
        merge: bool = False,
    ) -> None:
        self.collection(tenant_id, name).update(vid, vector, payload, merge)

    def delete(self, tenant_id: str, name: str, ids: list[Any]) -> int:
        return self.collection(tenant_id, name).delete(ids)

    def delete_where(self, tenant_id: str, name: str, flt: Any) -> int:
        return self.collection(tenant_id, name).delete_where(compile_filter(flt))

    def count(self, tenant_id: str, name: str) -> int:
        return self.collection(tenant_id, name).count()

    def list_vectors(
        self,
        tenant_id: str,
        name: str,
        *,
        offset: int = 0,
        limit: int = 100,
        with_vectors: bool = False,
        flt: Any = None,
    ) -> list[Hit]:
        return self.collection(tenant_id, name).page(offset, limit, with_vectors, _compiled(flt))

    def search(
        self,
        tenant_id: str,
        name: str,
        vector: Any,
        *,
        k: int = 10,
        flt: Any = None,
        ef: int | None = None,
        with_vectors: bool = False,
        with_payloads: bool = False,
    ) -> list[Hit]:
        """The k nearest neighbours of one query vector."""
        return self.search_batch(
            tenant_id,
            name,
            [vector],
            k=k,
            flt=flt,
            ef=ef,
            with_vectors=with_vectors,
            with_payloads=with_payloads,
        )[0]

    def search_batch(
        self,
        tenant_id: str,
        name: str,
        vectors: Any,
        *,
        k: int = 10,
        flt: Any = None,
        ef: int | None = None,
        with_vectors: bool = False,
        with_payloads: bool = False,
    ) -> list[list[Hit]]:
        """The k nearest neighbours of each query (``ef`` is nprobe for IVF collections)."""
        collection = self.collection(tenant_id, name)
        return collection.search(
            vectors,
            k,
            flt=_compiled(flt),
            effort=ef,
            with_vectors=with_vectors,
            with_payloads=with_payloads,
        )

    def stats(self, tenant_id: str, name: str | None = None) -> dict[str, Any]:
        """Stats of one collection, or of all the tenant's collections."""
        if name is not None:
            return self.collection(tenant_id, name).stats()
        with self.db.begin() as conn:
            rows = TenantScope(tenant_id).all(
                conn, vector_collections, order_by=[vector_collections.c.name]
            )
        return {"collections": [self.collection(tenant_id, r["name"]).stats() for r in rows]}

    def snapshot(self, tenant_id: str, name: str) -> None:
        """Snapshot now (normally done in the background)."""
        self.collection(tenant_id, name).snapshot()

    # -- backup ----------------------------------------------------------------------

    def backup(
        self, tenant_id: str, target: Path, names: list[str] | None = None
    ) -> dict[str, Any]:
        """Write a verified tar archive of some or all of the tenant's collections."""
        from abi.vectors.backup import write_archive

        chosen = names or [c["name"] for c in self.list_collections(tenant_id)]
        return write_archive(target, tenant_id, [self.collection(tenant_id, n) for n in chosen])

    def restore(self, tenant_id: str, archive: Path, overwrite: bool = False) -> list[str]:
        """Restore the collections of an archive into the tenant; verifies every checksum
        before changing anything. Returns the restored names."""
        from abi.vectors.backup import read_archive

        with read_archive(archive) as staged:
            existing = {c["name"] for c in self.list_collections(tenant_id)}
            clash = [c.name for c in staged.configs if c.name in existing]
            if clash and not overwrite:
                raise CollectionExists(
                    f"collections {', '.join(clash)} already exist; pass overwrite to replace"
                )
            for config in staged.configs:
                if config.name in existing:
                    self.drop_collection(tenant_id, config.name)
                self._create(tenant_id, config)
                with self._lock:
                    opened = self._open.pop((tenant_id, config.name))
                    opened.destroy()
                    staged.install(config.name, opened.dir)
            return [c.name for c in staged.configs]


def _compiled(flt: Any) -> Filter | None:
    if flt is None or isinstance(flt, Filter):
        return flt
    return compile_filter(flt)
