"""The three index kinds behind a collection: HNSW (usearch), exact flat, and IVF.

Every index maps slots (the integer keys of :class:`~abi.vectors.arrays.VectorArray`) to
neighbours; the array stays the source of truth, so an index can re-rank its candidates
exactly and can be rebuilt from it. ``search`` returns (slots, similarities), -1 padded.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from abi.vectors import exact
from abi.vectors.arrays import VectorArray
from abi.vectors.errors import VectorInputError, check_choice

THREADS = os.cpu_count() or 1
INDEX_KINDS = ("hnsw", "flat", "ivf")
DEFAULT_EXPANSION_SEARCH = 64  # HNSW ef when a search names none


class AnnIndex(Protocol):
    kind: str

    def add(self, slots: np.ndarray, vectors: np.ndarray) -> None: ...

    def remove(self, slots: np.ndarray) -> None: ...

    def search(
        self, queries: np.ndarray, k: int, effort: int | None
    ) -> tuple[np.ndarray, np.ndarray]: ...

    def save(self, directory: Path) -> list[str]: ...

    def load(self, directory: Path) -> None: ...

    def memory_bytes(self) -> int: ...

    def params(self) -> dict[str, Any]: ...


def _pad(slots: list[np.ndarray], sims: list[np.ndarray], k: int) -> tuple[np.ndarray, np.ndarray]:
    out_s = np.full((len(slots), k), -1, dtype=np.int64)
    out_v = np.full((len(slots), k), -np.inf, dtype=np.float32)
    for i, (s, v) in enumerate(zip(slots, sims, strict=True)):
        out_s[i, : len(s)] = s[:k]
        out_v[i, : len(v)] = v[:k]
    return out_s, out_v


def rerank(
    array: VectorArray, queries: np.ndarray, cand: np.ndarray, k: int, metric: str
) -> tuple[np.ndarray, np.ndarray]:
    """Exact similarities for candidate slots (nq, c) (-1 = none), the best k kept."""
    valid = cand >= 0
    safe = np.where(valid, cand, 0)
    rows = np.take(array.data, safe, axis=0).astype(np.float32, copy=False)  # (nq, c, d)
    sims = np.matmul(rows, queries[:, :, None])[:, :, 0]  # a batched BLAS product per query
    if metric == "l2":
        sims = 2 * sims - array.sqnorms[safe] - np.einsum("qd,qd->q", queries, queries)[:, None]
    sims = np.where(valid, sims, -np.inf).astype(np.float32)
    cols = np.argsort(-sims, axis=1, kind="stable")[:, :k]  # rows of rerank x k: sort them
    vals = np.take_along_axis(sims, cols, axis=1)
    return np.where(np.isfinite(vals), np.take_along_axis(cand, cols, axis=1), -1), vals


class FlatIndex:
    """Exact search over the whole array: nothing to build, always recall 1."""

    kind = "flat"

    def __init__(self, array: VectorArray, metric: str) -> None:
        self.array = array
        self.metric = metric

    def add(self, slots: np.ndarray, vectors: np.ndarray) -> None:
        return None

    def remove(self, slots: np.ndarray) -> None:
        return None

    def search(
        self, queries: np.ndarray, k: int, effort: int | None = None
    ) -> tuple[np.ndarray, np.ndarray]:
        a = self.array
        best_s = np.empty((len(queries), 0), dtype=np.int64)
        best_v = np.empty((len(queries), 0), dtype=np.float32)
        for start in range(0, a.high, exact.BLOCK_ROWS):
            stop = min(a.high, start + exact.BLOCK_ROWS)
            sims = exact.similarities(
                queries, a.data[start:stop], a.sqnorms[start:stop], self.metric
            )
            sims[:, ~a.alive[start:stop]] = -np.inf
            cols, vals = exact.top_k(sims, k)
            best_s = np.concatenate([best_s, cols + start], axis=1)
            best_v = np.concatenate([best_v, vals], axis=1)
            if best_s.shape[1] > k:
                cols, best_v = exact.top_k(best_v, k)
                best_s = np.take_along_axis(best_s, cols, axis=1)
        best_s = np.where(np.isfinite(best_v), best_s, -1)
        return best_s, best_v

    def save(self, directory: Path) -> list[str]:
        return []

    def load(self, directory: Path) -> None:
        return None

    def memory_bytes(self) -> int:
        return 0

    def params(self) -> dict[str, Any]:
        return {}


class HnswIndex:
    """usearch HNSW in the collection's storage type; with a lossy type the ``rerank`` x k
    candidates (by default k for f16, 2k for bf16 and i8) are re-scored in float32 from the
    array, so scores are exact."""

    kind = "hnsw"
    FILE = "index.usearch"

    def __init__(self, array: VectorArray, metric: str, dtype: str, params: dict[str, Any]):
        from usearch.index import Index

        self.array = array
        self.metric = metric
        self.dtype = dtype
        self.connectivity = int(params.get("connectivity", 16))
        self.expansion_add = int(params.get("expansion_add", 128))
        self.expansion_search = int(params.get("expansion_search", DEFAULT_EXPANSION_SEARCH))
        self.rerank = int(params.get("rerank", 1 if dtype in ("f32", "f16") else 2))
        self._index_class = Index
        self.index = self._make()
        self._viewing = False
        self._view_path = ""

    def _make(self) -> Any:
        return self._index_class(
            ndim=self.array.dim,
            metric="l2sq" if self.metric == "l2" else "ip",
            dtype=self.dtype,
            connectivity=self.connectivity,
            expansion_add=self.expansion_add,
            expansion_search=self.expansion_search,
        )

    def _writable(self) -> Any:
        if self._viewing:  # a memory-mapped snapshot: load it fully before changing it
            fresh = self._make()
            fresh.load(self._view_path)
            self.index = fresh
            self._viewing = False
        return self.index

    def add(self, slots: np.ndarray, vectors: np.ndarray) -> None:
        index = self._writable()
        if len(index):
            present = np.asarray(index.contains(slots.astype(np.uint64)), dtype=bool)
            if present.any():
                index.remove(slots[present].astype(np.uint64))
        index.add(slots.astype(np.uint64), vectors, threads=THREADS)

    def remove(self, slots: np.ndarray) -> None:
        index = self._writable()
        present = [int(s) for s in slots if index.contains(int(s))]
        if present:
            index.remove(present)

    def search(
        self, queries: np.ndarray, k: int, effort: int | None = None
    ) -> tuple[np.ndarray, np.ndarray]:
        if len(self.index) == 0:
            return _pad([np.empty(0)] * len(queries), [np.empty(0)] * len(queries), k)
        count = k * max(1, self.rerank)
        ef = max(effort or self.expansion_search, count)
        if self.index.expansion_search != ef:
            self.index.expansion_search = ef
        threads = THREADS if len(queries) > 1 else 1
        found = self.index.search(queries, count, threads=threads)
        keys = np.asarray(found.keys, dtype=np.int64).reshape(len(queries), -1)
        dist = np.asarray(found.distances, dtype=np.float32).reshape(len(queries), -1)
        counts = np.asarray(getattr(found, "counts", [len(found.keys)])).reshape(-1)
        mask = np.arange(keys.shape[1])[None, :] < counts[:, None]
        keys = np.where(mask, keys, -1)
        if self.rerank > 1 or self.dtype != "f32":
            return rerank(self.array, queries, keys, k, self.metric)
        sims = -dist if self.metric == "l2" else 1.0 - dist
        return keys[:, :k], np.where(mask, sims, -np.inf)[:, :k].astype(np.float32)

    def save(self, directory: Path) -> list[str]:
        self.index.save(str(directory / self.FILE))
        return [self.FILE]

    def load(self, directory: Path, view: bool = False) -> None:
        path = directory / self.FILE
        fresh = self._make()
        if view:
            fresh.view(str(path))
        else:
            fresh.load(str(path))
        self.index = fresh
        self._viewing = view
        self._view_path = str(path)

    def memory_bytes(self) -> int:
        return int(self.index.memory_usage)

    def params(self) -> dict[str, Any]:
        return {
            "connectivity": self.connectivity,
            "expansion_add": self.expansion_add,
            "expansion_search": self.expansion_search,
            "rerank": self.rerank,
        }


def check_params(kind: str, dtype: str, params: dict[str, Any]) -> dict[str, Any]:
    """Validate index parameters for a kind; returns them with defaults filled in."""
    allowed = {
        "hnsw": {
            "connectivity": (2, 256),
            "expansion_add": (1, 4096),
            "expansion_search": (1, 4096),
            "rerank": (1, 64),
        },
        "flat": {},
        "ivf": {"nlist": (1, 65536), "nprobe": (1, 65536)},
    }
    check_choice(kind, INDEX_KINDS, "index kind", "vectors.unknown_index")
    if kind != "hnsw" and dtype not in ("f32", "f16"):
        raise VectorInputError(
            f"index {kind!r} stores f32 or f16, not {dtype!r}", code="vectors.unknown_dtype"
        )
    out: dict[str, Any] = {}
    for key, value in params.items():
        if key not in allowed[kind]:
            raise VectorInputError(
                f"index {kind!r} has no parameter {key!r}; it takes "
                f"{', '.join(allowed[kind]) or 'none'}"
            )
        lo, hi = allowed[kind][key]
        if not isinstance(value, int) or isinstance(value, bool) or not lo <= value <= hi:
            raise VectorInputError(f"index parameter {key!r} must be an integer in [{lo}, {hi}]")
        out[key] = value
    return out


def make_index(config: Any, array: VectorArray, compute: Any) -> AnnIndex:
    """The index a collection config asks for, over ``array``."""
    kind, metric, params = config.index, config.metric, dict(config.params)
    if kind == "hnsw":
        return HnswIndex(array, metric, config.dtype, params)
    if kind == "ivf":
        from abi.vectors.ivf import IvfIndex

        return IvfIndex(array, metric, params, compute)
    return FlatIndex(array, metric)
