"""IVF: a k-means coarse quantizer over inverted lists searched with matrix products.

Until enough vectors exist to train the quantizer the index searches exactly. With
``nlist`` unset the number of lists follows the collection size (about sqrt(n)) and the
quantizer is retrained when the collection has grown fourfold. A snapshot keeps only the
centroids; the lists are rebuilt from the vector array on load (one matrix product).
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
from abi.vectors.parallel import run_chunked

log = logging.getLogger("abi.vectors")
MIN_TRAIN = 2048
TRAIN_SAMPLE_PER_LIST = 64
KMEANS_ITERS = 12


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
    def __init__(self, dim: int, dtype: Any) -> None:
        self.slots = np.empty(0, dtype=np.int64)
        self.vecs = np.empty((0, dim), dtype=dtype)
        self.sqnorms = np.empty(0, dtype=np.float32)
        self.n = 0
        self.dead = 0

    def append(self, slots: np.ndarray, vecs: np.ndarray, sqnorms: np.ndarray) -> int:
        need = self.n + len(slots)
        if need > len(self.slots):
            cap = max(need, 2 * len(self.slots), 16)
            self.slots = np.resize(self.slots, cap)
            grown = np.zeros((cap, self.vecs.shape[1]), dtype=self.vecs.dtype)
            grown[: self.n] = self.vecs[: self.n]
            self.vecs = grown
            self.sqnorms = np.resize(self.sqnorms, cap)
        start = self.n
        self.slots[start:need] = slots
        self.vecs[start:need] = vecs
        self.sqnorms[start:need] = sqnorms
        self.n = need
        return start


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
        self.lists = [_List(self.array.dim, self.array.np_dtype) for _ in self.centroids]
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
            bounds = np.flatnonzero(np.diff(owner)) + 1
            for group in np.split(np.arange(len(chunk)), bounds):
                if not len(group):
                    continue
                lst = int(owner[group[0]])
                members = chunk[group]
                pos = self.lists[lst].append(
                    members, self.array.data[members], self.array.sqnorms[members]
                )
                self.where[members] = (lst << 32) + pos + np.arange(len(members))

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
        for slot in inside:
            loc = int(self.where[slot])
            if loc >= 0:
                lst, pos = loc >> 32, loc & 0xFFFFFFFF
                self.lists[lst].slots[pos] = -1
                self.lists[lst].dead += 1
                self.where[slot] = -1

    # -- searching -------------------------------------------------------------------

    def search(
        self, queries: np.ndarray, k: int, effort: int | None = None
    ) -> tuple[np.ndarray, np.ndarray]:
        if self.centroids is None:
            return self._flat.search(queries, k)
        nprobe = min(effort or self.nprobe, len(self.centroids))
        probes = nearest(queries, self.centroids, nprobe).reshape(len(queries), nprobe)
        cand_s = np.full((len(queries), nprobe, k), -1, dtype=np.int64)
        cand_v = np.full((len(queries), nprobe, k), -np.inf, dtype=np.float32)
        flat = probes.reshape(-1)
        order = np.argsort(flat, kind="stable")
        groups = np.split(order, np.flatnonzero(np.diff(flat[order])) + 1)

        def scan(chunk: Sequence[np.ndarray]) -> None:
            for group in chunk:
                lst = self.lists[int(flat[group[0]])]
                if lst.n == 0:
                    continue
                qi, pi = group // nprobe, group % nprobe
                sims = exact.similarities(
                    queries[qi], lst.vecs[: lst.n], lst.sqnorms[: lst.n], self.metric
                )
                if lst.dead:
                    sims[:, lst.slots[: lst.n] < 0] = -np.inf
                cols, vals = exact.top_k(sims, k)
                width = cols.shape[1]
                cand_s[qi, pi, :width] = lst.slots[cols]
                cand_v[qi, pi, :width] = vals

        run_chunked(groups, scan)
        cols, vals = exact.top_k(cand_v.reshape(len(queries), -1), k)
        slots = np.take_along_axis(cand_s.reshape(len(queries), -1), cols, axis=1)
        return np.where(np.isfinite(vals), slots, -1), vals

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
        lists = sum(lst.vecs.nbytes + lst.slots.nbytes + lst.sqnorms.nbytes for lst in self.lists)
        cents = 0 if self.centroids is None else self.centroids.nbytes
        return int(lists + cents + self.where.nbytes)

    def params(self) -> dict[str, Any]:
        return {
            "nlist": self.fixed_nlist,
            "nprobe": self.nprobe,
            "trained_lists": 0 if self.centroids is None else len(self.centroids),
        }
