"""IVF: a k-means coarse quantizer over inverted lists searched with matrix products.

Until enough vectors exist to train the quantizer the index searches exactly. With
``nlist`` unset the number of lists follows the collection size (about sqrt(n)) and the
quantizer is retrained when the collection has grown fourfold. A snapshot keeps only the
centroids; the lists are rebuilt from the vector array on load (one matrix product). The
lists keep a float32 copy of their vectors (whatever the collection stores), zero-padded to
a multiple of LANES dimensions, scanned by the compiled kernel of :mod:`abi.vectors.kernels`.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from abi.errors import AbiError
from abi.vectors import exact
from abi.vectors.arrays import VectorArray
from abi.vectors.indexes import FlatIndex
from abi.vectors.kernels import scan_list
from abi.vectors.parallel import WORKERS, pieces, run_chunked

log = logging.getLogger("abi.vectors")
MIN_TRAIN = 2048
TRAIN_SAMPLE_PER_LIST = 64
KMEANS_ITERS = 12
LANES = 32  # the kernel's dot products run in steps of 32 floats: a remainder runs scalar


def _runs(values: np.ndarray) -> list[tuple[int, int, int]]:
    """(value, start, stop) of each run of equal values in a sorted array."""
    bounds = (np.flatnonzero(np.diff(values)) + 1).tolist()
    starts, stops = [0, *bounds], [*bounds, len(values)]
    return list(zip(values[starts].tolist(), starts, stops, strict=True)) if len(values) else []


def kmeans(data: np.ndarray, k: int, compute: Any, seed: int = 0) -> np.ndarray:
    """Centroids (k, d): the compute layer's k-means when given, else plain Lloyd."""
    if compute is not None:
        return np.asarray(compute.kmeans(data, k, iters=KMEANS_ITERS, seed=seed).centroids)
    rng = np.random.default_rng(seed)
    centroids = data[rng.choice(len(data), k, replace=False)].copy()
    for _ in range(KMEANS_ITERS):
        assign = nearest(data, centroids)
        order = np.argsort(assign, kind="stable")
        counts = np.bincount(assign, minlength=k)
        filled = counts > 0
        starts = np.concatenate([[0], np.cumsum(counts)[:-1]])[filled]
        sums = np.add.reduceat(data[order], starts, axis=0)
        centroids[filled] = sums / counts[filled, None]
    return centroids.astype(np.float32)


def nearest(data: np.ndarray, centroids: np.ndarray, probes: int = 1) -> np.ndarray:
    """The ``probes`` nearest centroids (L2) of every row; shape (n,) for one probe."""
    cn = np.einsum("ij,ij->i", centroids, centroids)
    sims = 2.0 * (data @ centroids.T) - cn[None, :]
    if probes == 1:
        best: np.ndarray = np.argmax(sims, axis=1)
        return best
    cols, _ = exact.top_k(sims, probes)
    return cols


class _List:
    """One inverted list: its slots (-1 once deleted), vectors, and the penalty subtracted
    from their similarities (the squared norm for l2, 0 for ip and cosine, inf if deleted)."""

    def __init__(self, dim: int) -> None:
        self.slots = np.empty(0, dtype=np.int64)
        self.vecs = np.empty((0, dim), dtype=np.float32)
        self.penalty = np.empty(0, dtype=np.float32)
        self.n = 0
        self.dead = 0

    def append(self, slots: np.ndarray, vecs: np.ndarray, penalty: np.ndarray | float) -> int:
        need = self.n + len(slots)
        if need > len(self.slots):
            cap = max(need, 2 * len(self.slots), 16)
            self.slots = np.resize(self.slots, cap)
            grown = np.zeros((cap, self.vecs.shape[1]), dtype=self.vecs.dtype)
            grown[: self.n] = self.vecs[: self.n]
            self.vecs = grown
            self.penalty = np.resize(self.penalty, cap)
        start = self.n
        self.slots[start:need] = slots
        self.vecs[start:need, : vecs.shape[1]] = vecs  # the padding stays zero
        self.penalty[start:need] = penalty
        self.n = need
        return start

    def kill(self, positions: np.ndarray) -> None:
        self.slots[positions] = -1
        self.penalty[positions] = np.inf
        self.dead += len(positions)


class IvfIndex:
    """Inverted lists by nearest centroid; ``nprobe`` lists searched per query."""

    kind = "ivf"
    FILE = "centroids.npy"

    def __init__(self, array: VectorArray, metric: str, params: dict[str, Any], compute: Any):
        self.array = array
        self.metric = metric
        self.fixed_nlist: int | None = params.get("nlist")
        self.nprobe = int(params.get("nprobe", 16))
        self.compute = compute
        self.centroids: np.ndarray | None = None
        self.trained_at = 0
        self.lists: list[_List] = []
        self.where = np.full(0, -1, dtype=np.int64)  # slot -> list * 2**32 + position
        self._flat = FlatIndex(array, metric)

    # -- building --------------------------------------------------------------------

    def _target_nlist(self, n: int) -> int:
        return self.fixed_nlist or max(16, int(math.sqrt(n)))

    def _should_train(self) -> bool:
        n = self.array.count
        nlist = self._target_nlist(n)
        if self.centroids is None:
            return n >= max(MIN_TRAIN, 8 * nlist)
        return self.fixed_nlist is None and n >= 4 * self.trained_at

    def train(self) -> None:
        """Fit the centroids on a sample of the live vectors and rebuild the lists."""
        live = self.array.live_slots()
        nlist = min(self._target_nlist(len(live)), len(live))
        rng = np.random.default_rng(len(live))
        size = min(len(live), nlist * TRAIN_SAMPLE_PER_LIST)
        sample = self.array.get(np.sort(rng.choice(live, size, replace=False)))
        try:
            self.centroids = kmeans(sample, nlist, self.compute)
        except AbiError as exc:  # no usable device: numpy gives the same kind of result
            log.warning("compute k-means failed (%s); IVF trains with numpy", exc.message)
            self.compute = None
            self.centroids = kmeans(sample, nlist, None)
        self.trained_at = len(live)
        self._rebuild()

    def _rebuild(self) -> None:
        assert self.centroids is not None
        padded = -(-self.array.dim // LANES) * LANES
        self.lists = [_List(padded) for _ in self.centroids]
        self.where = np.full(len(self.array.alive), -1, dtype=np.int64)
        self._assign(self.array.live_slots())

    def _assign(self, slots: np.ndarray) -> None:
        assert self.centroids is not None
        if len(self.where) < len(self.array.alive):
            self.where = np.concatenate(
                [self.where, np.full(len(self.array.alive) - len(self.where), -1, np.int64)]
            )
        for start in range(0, len(slots), 16_384):
            chunk = slots[start : start + 16_384]
            vecs = self.array.get(chunk)
            owner = nearest(vecs, self.centroids)
            order = np.argsort(owner, kind="stable")
            owner, chunk = owner[order], chunk[order]
            for lst, a, b in _runs(owner):
                members = chunk[a:b]
                penalty = self.array.sqnorms[members] if self.metric == "l2" else 0.0
                pos = self.lists[lst].append(members, self.array.data[members], penalty)
                self.where[members] = (lst << 32) + pos + np.arange(b - a)

    def add(self, slots: np.ndarray, vectors: np.ndarray) -> None:
        if self.centroids is not None:
            self.remove(slots)
        if self._should_train():
            self.train()
        elif self.centroids is not None:
            self._assign(slots)

    def remove(self, slots: np.ndarray) -> None:
        if self.centroids is None:
            return
        inside = slots[slots < len(self.where)]
        locs = self.where[inside]
        self.where[inside] = -1
        locs = np.unique(locs[locs >= 0])
        for lst, start, stop in _runs(locs >> 32):
            self.lists[lst].kill(locs[start:stop] & 0xFFFFFFFF)

    # -- searching -------------------------------------------------------------------

    def search(
        self, queries: np.ndarray, k: int, effort: int | None = None
    ) -> tuple[np.ndarray, np.ndarray]:
        """The k best of the ``effort`` (else nprobe) lists nearest each query.

        The (query, list) pairs are sorted by list, so each list is scanned once for all
        the queries probing it (the lists are shared out over the workers), and the
        nprobe x k candidates of each query are merged.
        """
        if self.centroids is None:
            return self._flat.search(queries, k)
        nq = len(queries)
        nprobe = min(effort or self.nprobe, len(self.centroids))
        pairs = self._probes(queries, nprobe)
        order = np.argsort(pairs, kind="stable")
        rows = np.zeros((len(order), self.lists[0].vecs.shape[1]), dtype=np.float32)
        rows[:, : queries.shape[1]] = queries[order // nprobe]
        if self.metric == "l2":
            rows *= 2.0  # 2 q.v - |v|^2 ranks as -|q - v|^2; |q|^2 comes off at the end
        found = np.full((len(rows), k), -1, dtype=np.int64)
        sims = np.full((len(rows), k), -np.inf, dtype=np.float32)

        def work(runs: Sequence[tuple[int, int, int]]) -> None:
            for lst_id, a, b in runs:
                lst = self.lists[lst_id]
                n = lst.n
                scan_list(
                    lst.vecs[:n], lst.slots[:n], lst.penalty[:n], rows[a:b], found[a:b], sims[a:b]
                )

        runs = _runs(pairs[order])
        runs.sort(key=lambda run: self.lists[run[0]].n * (run[2] - run[1]), reverse=True)
        run_chunked(runs, work)
        slots = np.empty_like(found)
        vals = np.empty_like(sims)
        slots[order], vals[order] = found, sims
        slots, vals = slots.reshape(nq, nprobe * k), vals.reshape(nq, nprobe * k)
        if nprobe > 1:
            cols, vals = exact.top_k(vals, k)
            slots = np.take_along_axis(slots, cols, axis=1)
        if self.metric == "l2":
            vals -= np.einsum("ij,ij->i", queries, queries)[:, None]
        return np.where(np.isfinite(vals), slots, -1), vals

    def _probes(self, queries: np.ndarray, nprobe: int) -> np.ndarray:
        """The nprobe nearest lists of each query, flattened; the queries are split over the
        workers (a BLAS of many threads would leave them spinning into the scan)."""
        assert self.centroids is not None
        out = np.empty((len(queries), nprobe), dtype=np.int64)
        centroids = self.centroids

        def work(blocks: Sequence[tuple[int, int]]) -> None:
            for a, b in blocks:
                out[a:b] = nearest(queries[a:b], centroids, nprobe).reshape(b - a, nprobe)

        run_chunked(pieces(len(queries), WORKERS), work)
        return out.reshape(-1)

    # -- persistence -----------------------------------------------------------------

    def save(self, directory: Path) -> list[str]:
        if self.centroids is None:
            return []
        np.save(directory / self.FILE, self.centroids)
        return [self.FILE]

    def load(self, directory: Path) -> None:
        path = directory / self.FILE
        if path.exists():
            self.centroids = np.load(path)
            self.trained_at = self.array.count
            self._rebuild()

    def memory_bytes(self) -> int:
        lists = sum(lst.vecs.nbytes + lst.slots.nbytes + lst.penalty.nbytes for lst in self.lists)
        cents = 0 if self.centroids is None else self.centroids.nbytes
        return int(lists + cents + self.where.nbytes)

    def params(self) -> dict[str, Any]:
        return {
            "nlist": self.fixed_nlist,
            "nprobe": self.nprobe,
            "trained_lists": 0 if self.centroids is None else len(self.centroids),
        }
