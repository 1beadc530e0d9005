"""IVF search against numpy ground truth: every probed list is scanned exactly, whatever the
metric, storage type, block split, deletions, updates or reload; and the top-k selection."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from abi.vectors import exact, ivf
from abi.vectors.arrays import VectorArray, prepare
from abi.vectors.datasets import clustered, ground_truth, recall
from abi.vectors.indexes import FlatIndex
from abi.vectors.ivf import IvfIndex
from abi.vectors.kernels import compile_kernel, scan_list

DIM = 24


def _index(data: np.ndarray, metric: str = "ip", dtype: str = "f32", nlist: int = 16) -> IvfIndex:
    array = VectorArray(DIM, dtype)
    slots = array.allocate(len(data))
    array.write(slots, prepare(data, metric))
    index = IvfIndex(array, metric, {"nlist": nlist}, None)
    index.add(slots, data)
    return index


def _truth(index: IvfIndex, queries: np.ndarray, nprobe: int) -> np.ndarray:
    """Similarities (float64) of every query to every slot, -inf outside the live members of
    the query's nprobe nearest lists."""
    assert index.centroids is not None
    array = index.array
    rows = array.data[: array.high].astype(np.float64)
    q = queries.astype(np.float64)
    if index.metric == "l2":
        sims = -((q[:, None, :] - rows[None, :, :]) ** 2).sum(axis=2)
    else:
        sims = q @ rows.T
    where = index.where[: array.high]
    owner = np.where(where >= 0, where >> 32, -1)
    probes = ivf.nearest(queries, index.centroids, nprobe).reshape(len(queries), -1)
    outside = ~(owner[None, :, None] == probes[:, None, :]).any(axis=2)
    sims[outside | ~array.alive[None, : array.high]] = -np.inf
    return sims


def _check(index: IvfIndex, queries: np.ndarray, k: int, nprobe: int) -> None:
    """The search returns a true top-k of the probed lists: the k best similarities, each
    the similarity of the slot it comes with (float32 rounding may swap near ties)."""
    slots, vals = index.search(queries, k, nprobe)
    sims = _truth(index, queries, nprobe)
    want = -np.sort(-sims, axis=1)[:, :k]
    width = slots.shape[1]
    assert np.isinf(want[:, width:]).all()
    want = want[:, :width]
    finite = np.isfinite(want)
    assert ((slots >= 0) == finite).all()
    assert (np.isfinite(vals) == finite).all()
    np.testing.assert_allclose(vals[finite], want[finite], rtol=1e-4, atol=1e-4)
    rows = np.nonzero(finite)[0]
    np.testing.assert_allclose(sims[rows, slots[finite]], want[finite], rtol=1e-4, atol=1e-4)
    assert all(len(set(row[row >= 0].tolist())) == (row >= 0).sum() for row in slots)


@pytest.mark.parametrize(
    ("metric", "dtype"), [("ip", "f32"), ("cosine", "f32"), ("l2", "f32"), ("l2", "f16")]
)
@pytest.mark.parametrize("nprobe", [1, 3, 16])
def test_probed_lists_are_scanned_exactly(metric: str, dtype: str, nprobe: int) -> None:
    data = clustered(4000, DIM, clusters=40, seed=3)
    # 400 queries over 16 lists, each met by many queries
    queries = prepare(clustered(400, DIM, clusters=40, seed=3, sample_seed=1), metric)
    index = _index(data, metric, dtype)
    _check(index, queries, 10, nprobe)
    assert (index.search(queries[:5], 10, 16)[0] >= 0).all()


def test_all_lists_probed_equals_flat_search() -> None:
    data = clustered(3000, DIM, clusters=30, seed=4)
    queries = clustered(50, DIM, clusters=30, seed=4, sample_seed=2)
    index = _index(data, "l2")
    slots, vals = index.search(queries, 10, 16)
    flat_s, flat_v = FlatIndex(index.array, "l2").search(queries, 10)
    np.testing.assert_array_equal(slots, flat_s)
    np.testing.assert_allclose(vals, flat_v, rtol=1e-5, atol=1e-4)


def test_recall_on_clustered_cosine_data() -> None:
    data = clustered(8000, DIM, clusters=80, seed=5)
    queries = clustered(200, DIM, clusters=80, seed=5, sample_seed=3)
    index = _index(data, "cosine", nlist=64)
    slots, _ = index.search(prepare(queries, "cosine"), 10, 4)
    assert recall(slots, ground_truth(data, queries, 10)) >= 0.95


def test_lists_shared_out_over_workers_give_the_serial_answer(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    data = clustered(3000, DIM, clusters=30, seed=6)
    queries = clustered(300, DIM, clusters=30, seed=6, sample_seed=4)
    index = _index(data, "ip")
    shared = index.search(queries, 10, 4)
    monkeypatch.setattr(ivf, "run_chunked", lambda items, work: work(items))
    serial = index.search(queries, 10, 4)
    np.testing.assert_array_equal(shared[0], serial[0])
    np.testing.assert_array_equal(shared[1], serial[1])


def test_scan_kernel_keeps_each_rows_k_best_in_order() -> None:
    rng = np.random.default_rng(11)
    vecs = rng.normal(size=(300, DIM)).astype(np.float32)
    rows = rng.normal(size=(7, DIM)).astype(np.float32)
    slots = np.arange(1000, 1300, dtype=np.int64)
    penalty = rng.random(300).astype(np.float32)
    penalty[::4] = np.inf  # deleted vectors never enter
    best_slots = np.full((7, 12), -1, dtype=np.int64)
    best_sims = np.full((7, 12), -np.inf, dtype=np.float32)
    scan_list(vecs, slots, penalty, rows, best_slots, best_sims)
    sims = rows @ vecs.T - penalty
    want = np.argsort(-sims, axis=1, kind="stable")[:, :12]
    np.testing.assert_array_equal(best_slots, slots[want])
    np.testing.assert_allclose(best_sims, np.take_along_axis(sims, want, axis=1), rtol=1e-5)
    assert not np.isin(best_slots, slots[::4]).any()


def test_scan_kernel_pads_rows_when_the_list_is_short() -> None:
    vecs = np.eye(3, DIM, dtype=np.float32)
    best_slots = np.full((1, 5), -1, dtype=np.int64)
    best_sims = np.full((1, 5), -np.inf, dtype=np.float32)
    query = np.ones((1, DIM), dtype=np.float32)
    penalty = np.array([0.0, np.inf, 0.5], dtype=np.float32)
    scan_list(vecs, np.array([7, 8, 9]), penalty, query, best_slots, best_sims)
    assert best_slots.tolist() == [[7, 9, -1, -1, -1]]
    assert best_sims[0, :2].tolist() == [1.0, 0.5]
    assert np.isneginf(best_sims[0, 2:]).all()


def test_deleted_vectors_never_come_back() -> None:
    data = clustered(3000, DIM, clusters=30, seed=7)
    index = _index(data, "l2")
    queries = data[:40] + 0.001
    gone = np.arange(0, 3000, 3)
    index.array.release(gone)
    index.remove(gone)
    index.remove(gone[:5])  # removing twice is harmless
    slots, _ = index.search(queries, 10, 2)
    assert not np.isin(slots, gone).any()
    _check(index, queries, 10, 2)


def test_updates_after_training_are_searchable() -> None:
    data = clustered(3000, DIM, clusters=30, seed=8)
    index = _index(data[:2500], "ip")
    assert index.centroids is not None
    array = index.array
    fresh = array.allocate(500)
    array.write(fresh, data[2500:])
    index.add(fresh, data[2500:])
    moved = np.arange(10)  # overwrite: each slot must live in one list only
    array.write(moved, data[2500:2510])
    index.add(moved, data[2500:2510])
    live = np.flatnonzero(index.where >= 0)
    assert sorted(live.tolist()) == list(range(3000))
    _check(index, data[2490:2520], 10, 3)


def test_k_larger_than_the_probed_lists() -> None:
    data = clustered(2200, DIM, clusters=200, seed=9)
    index = _index(data, "ip", nlist=200)  # about 11 vectors a list
    queries = data[:30]
    slots, vals = index.search(queries, 50, 1)
    sizes = [index.lists[int(p)].n for p in ivf.nearest(queries, index.centroids)]
    assert slots.shape[1] == 50 > max(sizes)  # padded with -1 beyond the list
    assert ((slots >= 0).sum(axis=1) == sizes).all()
    assert (np.isinf(vals) == (slots < 0)).all()
    _check(index, queries, 50, 1)


def test_empty_lists_give_no_hits() -> None:
    data = clustered(3000, DIM, clusters=30, seed=10)
    index = _index(data, "ip")
    assert index.centroids is not None
    far = -index.centroids.sum(axis=0, keepdims=True) * 100  # no vector is nearest to it
    index.centroids = np.concatenate([index.centroids, far])
    index._rebuild()
    assert index.lists[-1].n == 0
    alone, _ = index.search(far, 5, 1)
    assert (alone == -1).all()
    _check(index, np.concatenate([far, data[:20]]), 5, 2)


def test_untrained_index_searches_exactly() -> None:
    data = clustered(500, DIM, clusters=10, seed=11)
    index = _index(data, "cosine")
    assert index.centroids is None
    queries = prepare(data[:20] + 0.01, "cosine")
    slots, vals = index.search(queries, 10, 1)
    flat_s, flat_v = FlatIndex(index.array, "cosine").search(queries, 10)
    np.testing.assert_array_equal(slots, flat_s)
    np.testing.assert_array_equal(vals, flat_v)


def test_reload_keeps_the_answers(tmp_path: Path) -> None:
    data = clustered(3000, DIM, clusters=30, seed=12)
    index = _index(data, "l2")
    queries = data[:50] + 0.01
    before = index.search(queries, 10, 3)
    assert index.save(tmp_path) == [IvfIndex.FILE]
    again = IvfIndex(index.array, "l2", {"nlist": 16}, None)
    again.load(tmp_path)
    after = again.search(queries, 10, 3)
    np.testing.assert_array_equal(before[0], after[0])
    np.testing.assert_array_equal(before[1], after[1])
    assert again.memory_bytes() > index.array.data[:3000].nbytes


def test_no_queries() -> None:
    index = _index(clustered(3000, DIM, clusters=30, seed=13), "ip")
    slots, vals = index.search(np.empty((0, DIM), dtype=np.float32), 10, 2)
    assert slots.shape[0] == vals.shape[0] == 0


# -- top-k selection ---------------------------------------------------------------------


@pytest.mark.parametrize("piece", [exact.ARGMAX_PIECE, 1000])
@pytest.mark.parametrize(("n", "k"), [(400, 10), (400, 16), (400, 32), (60, 10), (10, 10), (5, 8)])
def test_top_k_is_a_stable_descending_sort(
    monkeypatch: pytest.MonkeyPatch, n: int, k: int, piece: int
) -> None:
    monkeypatch.setattr(exact, "ARGMAX_PIECE", piece)  # 1000: argmax rounds on a few rows at once
    rng = np.random.default_rng(n + k)
    sims = rng.integers(0, 50, size=(30, n)).astype(np.float32)  # many ties
    sims[0] = -np.inf
    sims[1, 3:] = -np.inf
    before = sims.copy()
    cols, vals = exact.top_k(sims, k)
    np.testing.assert_array_equal(sims, before)  # scratch use is undone
    order = np.argsort(-sims, axis=1, kind="stable")[:, :k]
    want = np.take_along_axis(sims, order, axis=1)
    np.testing.assert_array_equal(vals, want)
    finite = np.isfinite(want)
    np.testing.assert_array_equal(np.take_along_axis(sims, cols, axis=1)[finite], vals[finite])
    assert all(len(set(row[ok].tolist())) == ok.sum() for row, ok in zip(cols, finite, strict=True))
    if k <= exact.ARGMAX_MAX_K and n >= exact.ARGMAX_MIN_WIDTH * k:  # ties: lower column first
        np.testing.assert_array_equal(cols[finite], order[finite])


def test_a_kernel_without_a_cache_location_still_compiles() -> None:
    namespace: dict[str, object] = {}
    exec(
        "def double(xs, out):\n    for i in range(len(xs)):\n        out[i] = 2 * xs[i]", namespace
    )
    double = compile_kernel(namespace["double"], "void(f4[::1], f4[::1])")  # no source file
    out = np.zeros(3, dtype=np.float32)
    double(np.arange(3, dtype=np.float32), out)
    assert out.tolist() == [0.0, 2.0, 4.0]
