"""Exact re-scoring of ANN candidates (HNSW on lossy storage): the best k of each query's
candidates by their float32 similarity, padded where candidates run out."""

from __future__ import annotations

import numpy as np
import pytest

from abi.vectors.arrays import VectorArray
from abi.vectors.indexes import PARALLEL_RERANK, rerank

DIM = 40


def _array(rows: int = 500) -> VectorArray:
    array = VectorArray(DIM)
    array.write(array.allocate(rows), np.random.default_rng(1).normal(size=(rows, DIM)))
    return array


def _want(array: VectorArray, queries: np.ndarray, cand: np.ndarray, metric: str) -> np.ndarray:
    rows = array.data[np.where(cand >= 0, cand, 0)].astype(np.float64)
    q = queries.astype(np.float64)[:, None, :]
    sims = -((rows - q) ** 2).sum(axis=2) if metric == "l2" else (rows * q).sum(axis=2)
    return np.where(cand >= 0, sims, -np.inf)


@pytest.mark.parametrize("metric", ["ip", "cosine", "l2"])
@pytest.mark.parametrize("count", [1, PARALLEL_RERANK + 9])  # one call, and the workers
def test_candidates_are_ranked_by_their_exact_similarity(metric: str, count: int) -> None:
    array = _array()
    rng = np.random.default_rng(2)
    queries = rng.normal(size=(count, DIM)).astype(np.float32)
    cand = rng.choice(500, size=(count, 30))
    slots, sims = rerank(array, queries, cand, 10, metric)
    want = _want(array, queries, cand, metric)
    order = np.argsort(-want, axis=1, kind="stable")[:, :10]
    np.testing.assert_array_equal(slots, np.take_along_axis(cand, order, axis=1))
    np.testing.assert_allclose(sims, np.take_along_axis(want, order, axis=1), rtol=1e-4, atol=1e-3)


def test_missing_candidates_are_skipped_and_short_rows_padded() -> None:
    array = _array()
    queries = np.ones((2, DIM), dtype=np.float32)
    cand = np.array([[3, -1, 7, -1], [-1, -1, -1, -1]])
    slots, sims = rerank(array, queries, cand, 3, "ip")
    assert sorted(slots[0, :2].tolist()) == [3, 7]
    assert slots[0, 2] == -1 and slots[1].tolist() == [-1, -1, -1]
    assert np.isneginf(sims[0, 2]) and np.isneginf(sims[1]).all()
