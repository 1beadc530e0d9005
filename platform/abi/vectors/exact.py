"""Exact k-nearest-neighbour search: one matrix product and a partial sort per block.

Similarities are "higher is better": the inner product for ``ip`` and ``cosine`` (unit
vectors) and the negated squared Euclidean distance for ``l2``.
"""

from __future__ import annotations

import numpy as np

BLOCK_ROWS = 65_536
ARGMAX_MAX_K = 16  # top_k by argmax rounds up to this k, on rows this many times wider
ARGMAX_MIN_WIDTH = 8
ARGMAX_PIECE = 1 << 18  # values an argmax pass covers at a time (1 MiB of float32: in cache)


def similarities(
    queries: np.ndarray, rows: np.ndarray, sqnorms: np.ndarray, metric: str
) -> np.ndarray:
    """(nq, n) similarities of queries to rows."""
    sims: np.ndarray = queries @ rows.T.astype(np.float32, copy=False)
    if metric == "l2":
        qn = np.einsum("ij,ij->i", queries, queries)
        sims *= 2.0
        sims -= sqnorms[None, :]
        sims -= qn[:, None]
    return sims


def top_k(sims: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """(columns, values) of the k largest per row, best first; the column of a -inf value is
    arbitrary. Wide rows and a small k take k rounds of a vectorised argmax (ties: the lower
    column first), which write to ``sims`` and restore it: no other thread may read it then."""
    nq, n = sims.shape
    k = min(k, n)
    if k == 0:
        empty = np.empty((nq, 0))
        return empty.astype(np.int64), empty.astype(np.float32)
    if k <= ARGMAX_MAX_K and n >= ARGMAX_MIN_WIDTH * k:
        return _top_k_by_argmax(sims, k)
    rows = np.arange(nq)[:, None]
    if k < n:
        part = np.argpartition(sims, n - k, axis=1)[:, n - k :]
    else:
        part = np.broadcast_to(np.arange(n), (nq, n))
    vals = sims[rows, part]
    order = np.argsort(-vals, axis=1, kind="stable")
    return part[rows, order], vals[rows, order]


def _top_k_by_argmax(sims: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """k rounds of (argmax per row, take it out) over pieces of rows small enough to stay in
    cache: k fast passes instead of a per-row partition and sort, which cost microseconds a
    row whatever the width."""
    cols = np.empty((len(sims), k), dtype=np.int64)
    vals = np.empty((len(sims), k), dtype=sims.dtype)
    step = max(1, ARGMAX_PIECE // sims.shape[1])
    for start in range(0, len(sims), step):
        stop = start + step
        piece, c, v = sims[start:stop], cols[start:stop], vals[start:stop]
        rows = np.arange(len(piece))
        for j in range(k):
            best = np.argmax(piece, axis=1)
            c[:, j] = best
            v[:, j] = piece[rows, best]
            piece[rows, best] = -np.inf
        for j in reversed(range(k)):  # a row out of finite values repeats a column: undo it last
            piece[rows, c[:, j]] = v[:, j]
    return cols, vals


def search(
    queries: np.ndarray,
    data: np.ndarray,
    sqnorms: np.ndarray,
    slots: np.ndarray,
    *,
    k: int,
    metric: str,
) -> tuple[np.ndarray, np.ndarray]:
    """Exact top-k over ``data[slots]``; returns (slots (nq, k'), similarities), k' <= k."""
    best_s = np.empty((len(queries), 0), dtype=np.int64)
    best_v = np.empty((len(queries), 0), dtype=np.float32)
    for start in range(0, len(slots), BLOCK_ROWS):
        block = slots[start : start + BLOCK_ROWS]
        contiguous = len(block) > 0 and block[-1] - block[0] == len(block) - 1
        rows = data[block[0] : block[-1] + 1] if contiguous else data[block]
        sims = similarities(queries, rows, sqnorms[block], metric)
        cols, vals = top_k(sims, k)
        best_s = np.concatenate([best_s, block[cols]], axis=1)
        best_v = np.concatenate([best_v, vals], axis=1)
        if best_s.shape[1] > k:
            cols, best_v = top_k(best_v, k)
            best_s = np.take_along_axis(best_s, cols, axis=1)
    return best_s, best_v
