"""The VectorStore component (``platform.vectors``): tenant-scoped collections.

Every method takes the tenant id first. Collection definitions live in the SQL table
``vector_collections`` (read and written through a TenantScope); each collection's files live
under ``<data_dir>/vectors/<tenant_id>/<name>/``. Collections open lazily on first use; a
background thread snapshots those with many writes since their last snapshot.

With ``vectors.replication = "database"`` a collection's write-ahead records go to its shared
log in the database instead of the local WAL. Every node opens the collection from that log
(its local snapshot only shortens the replay), applies other nodes' records before each use
and in the background, and a node whose disk is lost, or a new node, rebuilds from the log.
Each process (a node, or one of its server workers) then keeps its copies in a directory of
its own, ``<data_dir>/vectors/replica-<n>``: the first slot whose lock file it can lock.
"""

from __future__ import annotations

import fcntl
import json
import logging
import os
import re
import shutil
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from abi.config import Settings, load_settings
from abi.store import Database, TenantScope
from abi.vectors.collection import Collection, Columns, Hit
from abi.vectors.config import CollectionConfig, check_config
from abi.vectors.errors import CollectionExists, CollectionNotFound, VectorInputError
from abi.vectors.filters import Filter, compile_filter
from abi.vectors.records import VectorId
from abi.vectors.shared_log import SharedLog
from abi.vectors.tables import MIGRATIONS, vector_collections

log = logging.getLogger("abi.vectors")
_TENANT = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
LOG_MARKER = "log_id"
"""File in a replicated collection's directory naming the shared log its files were built from."""


def _claim_slot(base: Path) -> tuple[Path, int]:
    """The first ``base/replica-<n>`` directory whose lock this process can take, and the
    open lock file (held until closed), so processes sharing a data directory never share
    collection files."""
    number = 0
    while True:
        slot = base / f"replica-{number}"
        slot.mkdir(exist_ok=True)
        fd = os.open(slot / ".lock", os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            number += 1
            continue
        return slot, fd


def _claim(directory: Path, log_id: str) -> None:
    """Keep a collection's local files only if they were built from the shared log
    ``log_id`` (they are a cache of it); otherwise start the directory afresh."""
    marker = directory / LOG_MARKER
    if marker.exists() and marker.read_text() == log_id:
        return
    if directory.exists():
        if not marker.exists() and any(directory.iterdir()):
            log.warning(
                "local files of %s predate its shared log; rebuilding from the log", directory
            )
        shutil.rmtree(directory)
    directory.mkdir(parents=True)
    marker.write_text(log_id)


class VectorStore:
    """WDBX: create, write, search, snapshot and back up tenants' vector collections."""

    name = "vectors"

    def __init__(self, settings: Settings, db: Database, compute: Any = None) -> None:
        self.settings = settings
        self.vsettings = settings.vectors
        self.db = db
        self.compute = compute
        self.root = settings.data_dir / "vectors"
        self._slot_lock: int | None = None
        self._open: dict[tuple[str, str], Collection] = {}
        self._lock = threading.RLock()
        self._wake = threading.Event()
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None

    # -- lifecycle -------------------------------------------------------------------

    def start(self) -> None:
        self.root.mkdir(parents=True, exist_ok=True)
        if self.replicated and self._slot_lock is None:
            self.root, self._slot_lock = _claim_slot(self.root)
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
        if self._slot_lock is not None:
            os.close(self._slot_lock)  # releases the slot's lock
            self._slot_lock = None
            self.root = self.settings.data_dir / "vectors"

    def health(self) -> dict[str, Any]:
        return {
            "ok": self._thread is not None and self._thread.is_alive(),
            "open_collections": len(self._open),
        }

    @property
    def replicated(self) -> bool:
        """Whether collections live in shared logs in the database (``vectors.replication``;
        ``auto`` when more than one process may serve them: PostgreSQL, or several workers)."""
        mode = self.vsettings.replication
        if mode == "auto":
            return self.settings.server.workers > 1 or self.db.engine.dialect.name != "sqlite"
        return mode == "database"

    def _snapshot_loop(self) -> None:
        while not self._stopping.is_set():
            self._wake.wait(timeout=1.0)
            self._wake.clear()
            with self._lock:
                opened = list(self._open.values())
            if self.replicated:
                self._follow_all(opened)
            due = [
                c for c in opened if c.writes_since_snapshot >= self.vsettings.snapshot_every_writes
            ]
            for collection in due:
                try:
                    collection.snapshot()
                except Exception:
                    log.exception("snapshot of %s failed", collection.dir)

    @staticmethod
    def _follow_all(opened: list[Collection]) -> None:
        """Keep open collections close to their shared logs, so reads find little to apply."""
        for collection in opened:
            try:
                collection.follow()
            except CollectionNotFound:
                continue  # dropped elsewhere: forgotten on its next use
            except Exception as exc:  # the database is away: reads retry and report it
                log.warning("following the shared log of %s failed: %s", collection.dir, exc)

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
            if self.replicated:
                SharedLog.create(conn, tenant_id, name)
        shutil.rmtree(directory, ignore_errors=True)  # leftovers of a crashed drop
        with self._lock:
            self._open[(tenant_id, name)] = self._open_collection(tenant_id, config)
        return self.describe_collection(tenant_id, name)

    def _open_collection(self, tenant_id: str, config: CollectionConfig) -> Collection:
        """Open a collection from its directory, or, replicated, from its shared log (the
        local files serve as long as they were built from that log)."""
        directory = self._tenant_dir(tenant_id) / config.name
        if not self.replicated:
            return Collection(directory, config, self.vsettings, self.compute)
        shared = SharedLog.attach(self.db, tenant_id, config.name)
        if shared is None:  # made before replication was on: its files are in the plain layout
            unreplicated = self.settings.data_dir / "vectors" / tenant_id / config.name
            shared = self._publish(tenant_id, config, unreplicated)
        _claim(directory, shared.log_id)
        return Collection(directory, config, self.vsettings, self.compute, log=shared)

    def _publish(self, tenant_id: str, config: CollectionConfig, source: Path) -> SharedLog:
        """Start the collection's shared log from the collection files in ``source`` (if
        any), which are deleted once published: a collection made before replication was
        turned on, or one just restored from a backup."""
        try:
            if source.exists():
                local = Collection(source, config, self.vsettings, self.compute)
                try:
                    with self.db.begin() as conn:
                        records = local.export_records(self.vsettings.max_batch)
                        SharedLog.create(conn, tenant_id, config.name, records)
                finally:
                    local.close()
                shutil.rmtree(source)
            else:
                with self.db.begin() as conn:
                    SharedLog.create(conn, tenant_id, config.name)
        except sa.exc.IntegrityError:  # another node started the log first: follow that one
            log.warning("the shared log of %s was started elsewhere first", source)
        shared = SharedLog.attach(self.db, tenant_id, config.name)
        if shared is None:
            raise CollectionNotFound(f"collection {config.name!r} was dropped by another node")
        return shared

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
                found = self._open_collection(tenant_id, self._config(tenant_id, name))
                self._open[key] = found
                return found
        try:
            found.follow()
        except CollectionNotFound:  # dropped, perhaps created again, through another node
            with self._lock:
                if self._open.get(key) is found:
                    del self._open[key]
            found.destroy()
            return self.collection(tenant_id, name)
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
                if self.replicated:
                    SharedLog.drop(conn, tenant_id, name)
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

    def search_columns(
        self,
        tenant_id: str,
        name: str,
        vectors: Any,
        *,
        k: int = 10,
        flt: Any = None,
        ef: int | None = None,
    ) -> Columns:
        """The k nearest neighbours of each query as id and score arrays (see
        :class:`~abi.vectors.collection.Columns`): the fast form for large batches."""
        return self.collection(tenant_id, name).search_columns(
            vectors, k, flt=_compiled(flt), effort=ef
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
                    if self.replicated:
                        self._publish(tenant_id, config, opened.dir)
            return [c.name for c in staged.configs]


@contextmanager
def standalone(overrides: dict[str, Any]) -> Iterator[VectorStore]:
    """A started VectorStore without the rest of the platform, on settings built from
    ``overrides`` alone (``data_dir``, ``store.database_url``, ``vectors.*``)."""
    settings = load_settings(environ={}, overrides=overrides)
    db = Database(settings.database_url)
    db.migrate(MIGRATIONS)
    store = VectorStore(settings, db)
    store.start()
    try:
        yield store
    finally:
        store.stop()
        db.close()


def _compiled(flt: Any) -> Filter | None:
    if flt is None or isinstance(flt, Filter):
        return flt
    return compile_filter(flt)
