"""One open collection: vectors, ids, payloads and index in memory, made durable by a WAL
and snapshots in its directory.

Every write is validated completely, appended to the log (fsynced per policy), then applied;
the same ``_apply`` replays the log after the latest snapshot on open. The log is the file WAL
in the collection's directory, or the shared log in the database that every node follows
(``vectors.replication = "database"``; :meth:`Collection.follow` applies other nodes' writes).
All state changes happen under the collection's lock; searches take it too (usearch releases
the GIL inside).
"""

from __future__ import annotations

import hashlib
import json
import math
import shutil
import threading
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from abi.config import VectorSettings
from abi.vectors import exact, snapshots
from abi.vectors.arrays import VectorArray, check_vectors, prepare
from abi.vectors.cache import QueryCache
from abi.vectors.config import CollectionConfig
from abi.vectors.errors import (
    BatchTooLarge,
    CollectionNotFound,
    VectorInputError,
    VectorNotFound,
)
from abi.vectors.filters import Filter
from abi.vectors.indexes import AnnIndex, HnswIndex, make_index
from abi.vectors.payload_index import PayloadIndex
from abi.vectors.records import (
    VectorId,
    bytes_matrix,
    check_id,
    check_ids,
    check_payload,
    check_payloads,
    decode,
    encode,
    matrix_bytes,
)
from abi.vectors.shared_log import LogGone
from abi.vectors.stats import OpStats
from abi.vectors.wal import RecordLog, WriteAheadLog

EXACT_CANDIDATES = 16_384
"""Filtered searches with at most this many candidates are answered exactly."""
SAMPLE_FOR_SELECTIVITY = 1024
CACHED_BATCH = 64
"""Searches of at most this many queries go through the query cache; larger batches are
rarely repeated verbatim, and hashing them costs more than the cache saves."""
MAX_K = 10_000
Hit = dict[str, Any]


@dataclass(frozen=True)
class Columns:
    """Batch search results as columns, one row per query, best first: ``ids`` (an object
    array; None past the hits found) and ``scores`` (float32; NaN there)."""

    ids: np.ndarray
    scores: np.ndarray


def _items(record: dict[str, Any]) -> int:
    """How many vectors a record writes."""
    return len(record["ids"]) if "ids" in record else 1


class Collection:
    """A tenant's collection, opened from (and persisted to) ``directory``; its records go
    to ``log`` when given (a shared log), else to the WAL in ``directory``."""

    def __init__(
        self,
        directory: Path,
        config: CollectionConfig,
        settings: VectorSettings,
        compute: Any,
        log: RecordLog | None = None,
    ) -> None:
        self.dir = directory
        self.config = config
        self.settings = settings
        self.lock = threading.RLock()
        self.array = VectorArray(config.dim, "f32" if config.index == "hnsw" else config.dtype)
        self.index: AnnIndex = make_index(config, self.array, compute)
        self.ids: dict[VectorId, int] = {}
        self.id_of_slot = np.full(1024, None, dtype=object)  # None: a free slot
        self.payloads: dict[int, dict[str, Any]] = {}
        self.pindex = PayloadIndex(config.payload_indexes, self.array.live_slots)
        self.cache = QueryCache(settings.query_cache_entries)
        self.searches = OpStats()
        self.inserts = OpStats()
        self.snapshot_seq = 0
        self.applied_seq = 0
        self.writes_since_snapshot = 0
        self.recovered_records = 0
        self.gone = False
        self.dir.mkdir(parents=True, exist_ok=True)
        self.wal: RecordLog = log or WriteAheadLog(self.dir / "wal", settings.fsync)
        self._load()

    # -- opening ---------------------------------------------------------------------

    def _load(self) -> None:
        latest = snapshots.latest(self.dir / "snapshots")
        if latest is not None:
            state = snapshots.read(latest)
            self.array.restore(**state.arrays)
            for slot, vid, payload in zip(state.slots, state.ids, state.payloads, strict=True):
                self._bind(slot, vid, payload)
            if isinstance(self.index, HnswIndex):
                self.index.load(latest, view=True)
            else:
                self.index.load(latest)
            self.snapshot_seq = state.seq
        self.applied_seq = self.snapshot_seq
        self.recovered_records = self._catch_up()

    def _catch_up(self) -> int:
        """Apply the log's records after ``applied_seq``; returns how many."""
        applied = 0
        try:
            for seq, body in self.wal.replay(self.applied_seq):
                record = decode(body)
                self._apply(record)
                self.applied_seq = seq
                self.writes_since_snapshot += _items(record)
                applied += 1
        except LogGone:
            raise self._dropped() from None
        return applied

    def _dropped(self) -> CollectionNotFound:
        """Mark the collection as dropped by another node (the store reopens or forgets it)."""
        self.gone = True
        return CollectionNotFound(f"collection {self.config.name!r} was dropped by another node")

    def follow(self) -> int:
        """Apply what other nodes appended to a shared log since the last record applied
        (nothing to do with a file WAL); returns how many records."""
        if not self.wal.shared:
            return 0
        with self.lock:
            return self._catch_up()

    def _bind(self, slot: int, vid: VectorId, payload: dict[str, Any]) -> None:
        self.ids[vid] = slot
        if slot >= len(self.id_of_slot):
            grown = np.full(max(slot + 1, 2 * len(self.id_of_slot)), None, dtype=object)
            grown[: len(self.id_of_slot)] = self.id_of_slot
            self.id_of_slot = grown
        self.id_of_slot[slot] = vid
        self.payloads[slot] = payload
        self.pindex.add(slot, payload)

    # -- applying records (live and on replay) ---------------------------------------

    def _apply(self, record: dict[str, Any]) -> None:
        op = record["op"]
        if op == "upsert":
            matrix = bytes_matrix(record["vectors"], self.config.dim)
            self._apply_upsert(record["ids"], matrix, record["payloads"])
        elif op == "update":
            vector = record.get("vector")
            changed = None if vector is None else bytes_matrix(vector, self.config.dim)
            self._apply_update(record["id"], changed, record.get("payload"), record["merge"])
        elif op == "delete":
            self._apply_delete(record["ids"])
        self.cache.clear()

    def _apply_upsert(
        self, ids: Sequence[VectorId], matrix: np.ndarray, payloads: Sequence[dict[str, Any]]
    ) -> None:
        known = [self.ids.get(v) for v in ids]
        fresh = self.array.allocate(sum(1 for s in known if s is None))
        it = iter(fresh)
        slots = np.asarray([s if s is not None else int(next(it)) for s in known], np.int64)
        self.array.write(slots, matrix)
        self.index.add(slots, matrix)
        for slot, vid, payload in zip(slots, ids, payloads, strict=True):
            self._bind(int(slot), vid, payload)

    def _apply_update(
        self, vid: VectorId, matrix: np.ndarray | None, payload: dict[str, Any] | None, merge: bool
    ) -> None:
        slot = self.ids.get(vid)
        if slot is None:  # deleted by a record another node ordered first
            return
        if matrix is not None:
            slots = np.asarray([slot], dtype=np.int64)
            self.array.write(slots, matrix)
            self.index.add(slots, matrix)
        if payload is not None:
            merged = {**self.payloads[slot], **payload} if merge else payload
            self._bind(slot, vid, merged)

    def _apply_delete(self, ids: Sequence[VectorId]) -> None:
        slots = np.asarray([self.ids[v] for v in ids if v in self.ids], dtype=np.int64)
        if not len(slots):
            return
        self.index.remove(slots)
        self.array.release(slots)
        for slot in slots:
            vid = self.id_of_slot[slot]
            self.id_of_slot[slot] = None
            del self.ids[vid]
            del self.payloads[int(slot)]
            self.pindex.remove(int(slot))

    def _commit(self, record: dict[str, Any]) -> None:
        """Log then apply one validated write (the caller holds the lock). Records other
        nodes appended to a shared log first are applied first, in the log's order."""
        try:
            seq = self.wal.append([encode(record)])
        except LogGone:
            raise self._dropped() from None
        if seq != self.applied_seq + 1:
            self._catch_up()
            return
        self._apply(record)
        self.applied_seq = seq
        self.writes_since_snapshot += _items(record)

    # -- writes ----------------------------------------------------------------------

    def upsert(
        self,
        vectors: Any,
        ids: Sequence[Any] | None = None,
        payloads: Sequence[Any] | None = None,
    ) -> list[VectorId]:
        """Insert or replace vectors (with their payloads); returns their ids."""
        started = time.perf_counter()
        matrix = check_vectors(vectors, self.config.dim)
        if len(matrix) > self.settings.max_batch:
            raise BatchTooLarge(
                f"a batch holds at most {self.settings.max_batch} vectors, got {len(matrix)}; "
                "split it (settings.vectors.max_batch)"
            )
        if len(matrix) == 0:
            raise VectorInputError("nothing to upsert: the batch is empty")
        checked_ids = check_ids(ids, len(matrix))
        checked_payloads = check_payloads(payloads, len(matrix))
        prepared = prepare(matrix, self.config.metric)
        record = {
            "op": "upsert",
            "ids": checked_ids,
            "vectors": matrix_bytes(prepared),
            "payloads": checked_payloads,
        }
        with self.lock:
            self._commit(record)
        self.inserts.record(time.perf_counter() - started, len(matrix))
        return checked_ids

    def update(
        self, vid: Any, vector: Any = None, payload: Any = None, merge: bool = False
    ) -> None:
        """Replace the vector and/or the payload of one vector (``merge`` adds keys)."""
        vid = check_id(vid)
        if vector is None and payload is None:
            raise VectorInputError("an update needs a vector, a payload or both")
        prepared = None
        if vector is not None:
            prepared = matrix_bytes(
                prepare(check_vectors(vector, self.config.dim), self.config.metric)
            )
        checked = None if payload is None else check_payload(payload)
        with self.lock:
            if vid not in self.ids:
                raise VectorNotFound(f"vector {vid!r} does not exist in {self.config.name!r}")
            record = {
                "op": "update",
                "id": vid,
                "vector": prepared,
                "payload": checked,
                "merge": merge,
            }
            self._commit(record)

    def delete(self, ids: Sequence[Any]) -> int:
        """Delete vectors by id; returns how many existed."""
        checked = [check_id(v) for v in ids]
        if len(checked) > self.settings.max_batch:
            raise BatchTooLarge(f"at most {self.settings.max_batch} ids per delete")
        with self.lock:
            present = list(dict.fromkeys(v for v in checked if v in self.ids))
            if present:
                self._commit({"op": "delete", "ids": present})
            return len(present)

    def delete_where(self, flt: Filter) -> int:
        """Delete every vector whose payload matches the filter; returns the count."""
        with self.lock:
            slots = self._matching_slots(flt)
            ids = [self.id_of_slot[s] for s in slots]
            for start in range(0, len(ids), self.settings.max_batch):
                chunk = ids[start : start + self.settings.max_batch]
                self._commit({"op": "delete", "ids": chunk})
            return len(ids)

    # -- reads -----------------------------------------------------------------------

    def count(self) -> int:
        return len(self.ids)

    def _record(self, slot: int, with_vector: bool, with_payload: bool) -> Hit:
        out: Hit = {"id": self.id_of_slot[slot]}
        if with_vector:
            out["vector"] = self.array.get(np.asarray([slot]))[0].tolist()
        if with_payload:
            out["payload"] = self.payloads[slot]
        return out

    def get(self, vid: Any, with_vector: bool = True) -> Hit:
        vid = check_id(vid)
        with self.lock:
            slot = self.ids.get(vid)
            if slot is None:
                raise VectorNotFound(f"vector {vid!r} does not exist in {self.config.name!r}")
            return self._record(slot, with_vector, True)

    def page(
        self,
        offset: int = 0,
        limit: int = 100,
        with_vector: bool = False,
        flt: Filter | None = None,
    ) -> list[Hit]:
        """Vectors in insertion order, ``limit`` from ``offset`` (optionally filtered)."""
        if offset < 0 or not 1 <= limit <= MAX_K:
            raise VectorInputError(f"offset must be >= 0 and limit in [1, {MAX_K}]")
        with self.lock:
            slots: Any = self.ids.values()
            if flt is not None:
                slots = [s for s in slots if flt.matches(self.payloads[s])]
            page = list(slots)[offset : offset + limit]
            return [self._record(s, with_vector, True) for s in page]

    # -- search ----------------------------------------------------------------------

    def search(
        self,
        queries: Any,
        k: int = 10,
        *,
        flt: Filter | None = None,
        effort: int | None = None,
        with_vectors: bool = False,
        with_payloads: bool = False,
    ) -> list[list[Hit]]:
        """The k nearest vectors of each query, best first, with ``score`` (similarity for
        cosine and ip, squared distance for l2), honouring the filter."""
        started = time.perf_counter()
        q = self._queries(queries, k, effort)
        key = None
        if len(q) <= CACHED_BATCH:
            key = self._cache_key(q, k, flt, effort, with_vectors, with_payloads)
            cached = self.cache.get(key)
            if cached is not None:
                self.searches.record(time.perf_counter() - started, len(q))
                return list(cached)
        with self.lock:
            slots, sims = self._plan(q, k, flt, effort)
            hits = self._hits(slots, sims, with_vectors, with_payloads)
        if key is not None:
            self.cache.put(key, hits)
        self.searches.record(time.perf_counter() - started, len(q))
        return hits

    def search_columns(
        self,
        queries: Any,
        k: int = 10,
        *,
        flt: Filter | None = None,
        effort: int | None = None,
    ) -> Columns:
        """:meth:`search` for batch work: ids and scores as arrays, no object per hit (and
        no query cache)."""
        started = time.perf_counter()
        q = self._queries(queries, k, effort)
        with self.lock:
            columns = self._columns(*self._plan(q, k, flt, effort))
        self.searches.record(time.perf_counter() - started, len(q))
        return columns

    def _columns(self, slots: np.ndarray, sims: np.ndarray) -> Columns:
        """Ids and scores of an index's (slots, similarities); the caller holds the lock."""
        ids = self.id_of_slot[np.where(slots >= 0, slots, 0)]
        ids[slots < 0] = None
        sign = -1.0 if self.config.metric == "l2" else 1.0
        live = ids != None  # noqa: E711 - elementwise over the object array
        scores = np.where(live, sign * sims, np.nan).astype(np.float32)
        return Columns(ids, scores)

    def _queries(self, queries: Any, k: int, effort: int | None) -> np.ndarray:
        """Validated, prepared query rows (and a valid k and ef / nprobe)."""
        if isinstance(k, bool) or not isinstance(k, int) or not 1 <= k <= MAX_K:
            raise VectorInputError(f"k must be an integer in [1, {MAX_K}]")
        if effort is not None and (isinstance(effort, bool) or not 1 <= effort <= 65_536):
            raise VectorInputError("ef / nprobe must be an integer in [1, 65536]")
        matrix = check_vectors(queries, self.config.dim)
        if len(matrix) > self.settings.max_batch:
            raise BatchTooLarge(f"at most {self.settings.max_batch} queries per batch")
        return prepare(matrix, self.config.metric)

    @staticmethod
    def _cache_key(q: np.ndarray, *rest: Any) -> Any:
        flt = rest[1]
        source = None if flt is None else json.dumps(flt.source, sort_keys=True)
        digest = hashlib.blake2b(q.tobytes(), digest_size=16).digest()
        return (digest, q.shape, rest[0], source, *rest[2:])

    def _hits(
        self, slots: np.ndarray, sims: np.ndarray, with_vectors: bool, with_payloads: bool
    ) -> list[list[Hit]]:
        columns = self._columns(slots, sims)
        out = []
        rows = zip(slots.tolist(), columns.ids.tolist(), columns.scores.tolist(), strict=True)
        for row_s, row_ids, row_scores in rows:
            row = zip(row_s, row_ids, row_scores, strict=True)
            kept = [(slot, vid, score) for slot, vid, score in row if vid is not None]
            hits = [{"id": vid, "score": score} for _s, vid, score in kept]
            if with_vectors or with_payloads:
                for hit, (slot, _vid, _score) in zip(hits, kept, strict=True):
                    hit.update(self._record(slot, with_vectors, with_payloads))
            out.append(hits)
        return out

    def _plan(
        self, q: np.ndarray, k: int, flt: Filter | None, effort: int | None
    ) -> tuple[np.ndarray, np.ndarray]:
        if flt is None:
            return self.index.search(q, k, effort)
        n = self.array.count
        cands, exact_set = flt.resolve(self.pindex)
        if cands is None:
            estimate = self._estimate(flt) * n
            if estimate <= EXACT_CANDIDATES or self.index.kind == "flat":
                cands, exact_set = self._matching_slots(flt), True
        if cands is not None and (len(cands) <= EXACT_CANDIDATES or self.index.kind == "flat"):
            if not exact_set:
                cands = np.asarray(
                    [s for s in cands if flt.matches(self.payloads[int(s)])], dtype=np.int64
                )
            return exact.search(
                q, self.array.data, self.array.sqnorms, cands, k=k, metric=self.config.metric
            )
        selectivity = len(cands) / max(n, 1) if cands is not None else self._estimate(flt)
        allowed = cands if exact_set else None
        return self._oversample(
            q, k, flt, effort, selectivity=max(selectivity, 1e-4), allowed=allowed
        )

    def _oversample(
        self,
        q: np.ndarray,
        k: int,
        flt: Filter,
        effort: int | None,
        *,
        selectivity: float,
        allowed: np.ndarray | None,
    ) -> tuple[np.ndarray, np.ndarray]:
        """ANN search for k / selectivity x 2 candidates, post-filtered; rows still short of
        k hits are retried with four times as many, and at worst answered exactly."""
        n = self.array.count
        want = min(n, math.ceil(k / selectivity * 2))
        out_s = np.full((len(q), k), -1, dtype=np.int64)
        out_v = np.full((len(q), k), -np.inf, dtype=np.float32)
        todo = np.arange(len(q))
        while len(todo):
            # ef twice the candidates wanted: the filter throws most of them away, so their
            # order matters less than finding the true neighbours among them
            slots, sims = self.index.search(q[todo], want, max(effort or 0, 2 * want))
            if allowed is not None:
                keep = np.isin(slots, allowed)
            else:
                keep = np.asarray(
                    [
                        [s >= 0 and flt.matches(self.payloads.get(int(s))) for s in row]
                        for row in slots.tolist()
                    ],
                    dtype=bool,
                ).reshape(slots.shape)
            keep &= slots >= 0
            short = []
            for row, qi in enumerate(todo):
                chosen = np.flatnonzero(keep[row])[:k]
                out_s[qi, : len(chosen)] = slots[row, chosen]
                out_v[qi, : len(chosen)] = sims[row, chosen]
                if len(chosen) < k:
                    short.append(qi)
            todo = np.asarray(short, dtype=np.int64)
            if len(todo) and want >= n:
                break
            want = min(n, want * 4)
        if len(todo):
            cands = allowed if allowed is not None else self._matching_slots(flt)
            s, v = exact.search(
                q[todo], self.array.data, self.array.sqnorms, cands, k=k, metric=self.config.metric
            )
            out_s[todo, : s.shape[1]] = s
            out_v[todo, : s.shape[1]] = v
        return out_s, out_v

    def _estimate(self, flt: Filter) -> float:
        """Fraction of vectors matching the filter, from a sample of payloads."""
        slots = list(self.payloads)
        if not slots:
            return 0.0
        step = max(1, len(slots) // SAMPLE_FOR_SELECTIVITY)
        sample = slots[::step]
        return sum(1 for s in sample if flt.matches(self.payloads[s])) / len(sample)

    def _matching_slots(self, flt: Filter) -> np.ndarray:
        cands, exact_set = flt.resolve(self.pindex)
        pool = cands if cands is not None else list(self.payloads)
        if exact_set and cands is not None:
            return cands
        return np.asarray([s for s in pool if flt.matches(self.payloads[int(s)])], np.int64)

    # -- durability ------------------------------------------------------------------

    def snapshot(self) -> Path | None:
        """Write a snapshot at the current WAL position (if anything changed since the last)
        and drop the WAL segments and snapshots it covers."""
        with self.lock:
            seq = self.applied_seq
            root = self.dir / "snapshots"
            if seq == self.snapshot_seq and snapshots.latest(root) is not None:
                return snapshots.latest(root)
            slots = list(self.payloads)
            state = snapshots.SnapshotState(
                seq,
                self.config.to_dict(),
                self.array.state(),
                slots,
                [self.id_of_slot[s] for s in slots],
                [self.payloads[s] for s in slots],
            )
            path = snapshots.write(root, state, self.index.save)
            self.wal.rotate()
            self.snapshot_seq = seq
            self.writes_since_snapshot = 0
            snapshots.prune(root, path)
            self.wal.drop_through(seq)
            return path

    def export_records(self, batch: int) -> Iterator[bytes]:
        """The live vectors as upsert records of at most ``batch`` vectors each: what a fresh
        shared log starts from when a collection is published to it."""
        with self.lock:
            slots = list(self.payloads)
            for start in range(0, len(slots), batch):
                chunk = slots[start : start + batch]
                record = {
                    "op": "upsert",
                    "ids": [self.id_of_slot[s] for s in chunk],
                    "vectors": matrix_bytes(self.array.get(np.asarray(chunk, np.int64))),
                    "payloads": [self.payloads[s] for s in chunk],
                }
                yield encode(record)

    def close(self) -> None:
        with self.lock:
            self.wal.close()

    def destroy(self) -> None:
        """Close and delete every file of the collection."""
        with self.lock:
            self.wal.close()
            shutil.rmtree(self.dir, ignore_errors=True)

    # -- stats -----------------------------------------------------------------------

    def stats(self) -> dict[str, Any]:
        with self.lock:
            memory = self.array.memory_bytes() + self.index.memory_bytes()
            return {
                "name": self.config.name,
                "count": self.count(),
                "dimension": self.config.dim,
                "metric": self.config.metric,
                "dtype": self.config.dtype,
                "index": self.config.index,
                "index_params": self.index.params(),
                "payload_indexes": list(self.config.payload_indexes),
                "memory_bytes": memory,
                "disk_bytes": snapshots.disk_bytes(self.dir),
                "wal_bytes": self.wal.size_bytes(),
                "snapshot_seq": self.snapshot_seq,
                "wal_seq": self.applied_seq,
                "log": "database" if self.wal.shared else "file",
                "search": self.searches.summary(),
                "insert": self.inserts.summary(),
                "cache": self.cache.summary(),
            }
