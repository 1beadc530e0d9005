"""WDBX through platform.vectors: collections, writes, reads, search, filters, persistence."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from abi.config import Settings
from abi.errors import AbiError
from abi.runtime import Platform
from abi.vectors import VectorStore
from abi.vectors.collection import CACHED_BATCH
from abi.vectors.datasets import clustered, ground_truth, recall

T = "t_alpha"
OTHER = "t_beta"


@pytest.fixture
def vs(platform: Platform) -> VectorStore:
    store: VectorStore = platform.vectors
    return store


def _ids(hits: list[dict[str, Any]]) -> list[Any]:
    return [h["id"] for h in hits]


def test_collection_lifecycle(vs: VectorStore) -> None:
    info = vs.create_collection(T, "docs", 8, metric="l2", dtype="f32", index="flat")
    assert info["dim"] == 8
    assert info["count"] == 0
    assert [c["name"] for c in vs.list_collections(T)] == ["docs"]
    vs.drop_collection(T, "docs")
    assert vs.list_collections(T) == []
    with pytest.raises(AbiError) as info_err:
        vs.describe_collection(T, "docs")
    assert info_err.value.code == "vectors.collection_not_found"


def test_duplicate_collection_is_a_conflict(vs: VectorStore) -> None:
    vs.create_collection(T, "docs", 8)
    with pytest.raises(AbiError) as info:
        vs.create_collection(T, "docs", 8)
    assert info.value.code == "vectors.collection_exists"


@pytest.mark.parametrize(
    ("kwargs", "code"),
    [
        ({"metric": "hamming"}, "vectors.unknown_metric"),
        ({"dtype": "f64"}, "vectors.unknown_dtype"),
        ({"index": "lsh"}, "vectors.unknown_index"),
        ({"index": "ivf", "dtype": "i8"}, "vectors.unknown_dtype"),
        ({"params": {"connectivity": 0}}, "vectors.invalid_input"),
        ({"params": {"nprobe": 4}}, "vectors.invalid_input"),
    ],
)
def test_bad_collection_definition(vs: VectorStore, kwargs: dict[str, Any], code: str) -> None:
    with pytest.raises(AbiError) as info:
        vs.create_collection(T, "bad", 8, **kwargs)
    assert info.value.code == code
    assert vs.list_collections(T) == []


def test_bad_collection_name_and_dimension(vs: VectorStore) -> None:
    with pytest.raises(AbiError, match="collection name"):
        vs.create_collection(T, "../escape", 8)
    with pytest.raises(AbiError) as info:
        vs.create_collection(T, "big", 10**6)
    assert info.value.code == "vectors.invalid_dimension"


def test_upsert_get_and_generated_ids(vs: VectorStore) -> None:
    vs.create_collection(T, "docs", 4, metric="ip", dtype="f32", index="flat")
    vs.upsert(T, "docs", [[1, 0, 0, 0]], ids=["a"], payloads=[{"k": 1}])
    generated = vs.upsert(T, "docs", [[0, 1, 0, 0], [0, 0, 1, 0]])
    assert len(set(generated)) == 2
    got = vs.get(T, "docs", "a")
    assert got == {"id": "a", "vector": [1.0, 0.0, 0.0, 0.0], "payload": {"k": 1}}
    assert vs.count(T, "docs") == 3


def test_string_and_integer_ids_are_distinct(vs: VectorStore) -> None:
    vs.create_collection(T, "docs", 2, dtype="f32", index="flat")
    vs.upsert(T, "docs", [[1, 0], [0, 1]], ids=[1, "1"])
    assert vs.count(T, "docs") == 2
    assert vs.get(T, "docs", 1)["vector"] == [1.0, 0.0]


def test_upsert_replaces_existing_id(vs: VectorStore) -> None:
    vs.create_collection(T, "docs", 2, metric="l2", dtype="f32", index="hnsw")
    vs.upsert(T, "docs", [[1, 0]], ids=["a"], payloads=[{"v": 1}])
    vs.upsert(T, "docs", [[0, 5]], ids=["a"], payloads=[{"v": 2}])
    assert vs.count(T, "docs") == 1
    assert vs.get(T, "docs", "a") == {"id": "a", "vector": [0.0, 5.0], "payload": {"v": 2}}
    assert _ids(vs.search(T, "docs", [0, 5], k=1)) == ["a"]


@pytest.mark.parametrize(
    ("vectors", "kwargs", "code"),
    [
        ([[1, 2, 3]], {}, "vectors.wrong_dimension"),
        ([[1, float("nan"), 0, 0]], {}, "vectors.non_finite"),
        ([[1, float("inf"), 0, 0]], {}, "vectors.non_finite"),
        ([[0, 0, 0, 0]], {}, "vectors.zero_vector"),
        ([[1, 0, 0, 0]] * 2, {"ids": ["x", "x"]}, "vectors.duplicate_id"),
        ([[1, 0, 0, 0]], {"ids": [True]}, "vectors.invalid_id"),
        ([[1, 0, 0, 0]], {"payloads": ["text"]}, "vectors.invalid_payload"),
        ([[1, 0, 0, 0]] * 17, {}, "vectors.batch_too_large"),
    ],
)
def test_bad_upsert_changes_nothing(
    tmp_path: Any, vectors: Any, kwargs: dict[str, Any], code: str
) -> None:
    from abi.config import load_settings

    settings = load_settings(
        environ={}, overrides={"data_dir": tmp_path / "d", "vectors": {"max_batch": 16}}
    )
    with Platform(settings) as platform:
        platform.vectors.create_collection(T, "docs", 4)
        platform.vectors.upsert(T, "docs", [[1, 1, 1, 1]], ids=["keep"])
        with pytest.raises(AbiError) as info:
            platform.vectors.upsert(T, "docs", vectors, **kwargs)
        assert info.value.code == code
        assert platform.vectors.count(T, "docs") == 1
        assert platform.vectors.collection(T, "docs").wal.last_seq == 1


def test_unknown_collection(vs: VectorStore) -> None:
    with pytest.raises(AbiError) as info:
        vs.upsert(T, "nope", [[1.0]])
    assert info.value.code == "vectors.collection_not_found"


def test_update_vector_and_merge_payload(vs: VectorStore) -> None:
    vs.create_collection(T, "docs", 2, metric="l2", dtype="f32")
    vs.upsert(T, "docs", [[1, 0]], ids=["a"], payloads=[{"x": 1}])
    vs.update(T, "docs", "a", payload={"y": 2}, merge=True)
    vs.update(T, "docs", "a", vector=[3, 3])
    assert vs.get(T, "docs", "a") == {"id": "a", "vector": [3.0, 3.0], "payload": {"x": 1, "y": 2}}
    vs.update(T, "docs", "a", payload={"z": 3})
    assert vs.get(T, "docs", "a")["payload"] == {"z": 3}
    with pytest.raises(AbiError) as info:
        vs.update(T, "docs", "missing", payload={})
    assert info.value.code == "vectors.vector_not_found"


def test_delete_by_id_and_by_filter(vs: VectorStore) -> None:
    vs.create_collection(T, "docs", 2, payload_indexes=["g"])
    vs.upsert(
        T,
        "docs",
        np.eye(2).repeat(3, axis=0) + 0.1,
        ids=list(range(6)),
        payloads=[{"g": i % 3} for i in range(6)],
    )
    assert vs.delete(T, "docs", [0, 99]) == 1
    assert vs.delete_where(T, "docs", {"field": "g", "eq": 1}) == 2
    assert sorted(h["id"] for h in vs.list_vectors(T, "docs")) == [2, 3, 5]
    with pytest.raises(AbiError) as info:
        vs.delete_where(T, "docs", {"field": "g", "approx": 1})
    assert info.value.code == "vectors.filter_invalid"
    assert vs.count(T, "docs") == 3


def test_list_paginates_in_insertion_order(vs: VectorStore) -> None:
    vs.create_collection(T, "docs", 2)
    vs.upsert(T, "docs", np.ones((7, 2)), ids=[f"v{i}" for i in range(7)])
    pages = [_ids(vs.list_vectors(T, "docs", offset=o, limit=3)) for o in (0, 3, 6)]
    assert pages == [["v0", "v1", "v2"], ["v3", "v4", "v5"], ["v6"]]


@pytest.mark.parametrize(
    ("index", "dtype", "metric"),
    [
        ("hnsw", "f32", "cosine"),
        ("hnsw", "bf16", "cosine"),
        ("hnsw", "f16", "l2"),
        ("hnsw", "i8", "cosine"),
        ("flat", "f32", "ip"),
        ("flat", "f16", "l2"),
        ("ivf", "f32", "cosine"),
        ("ivf", "f16", "l2"),
    ],
)
def test_search_recall_on_clustered_data(
    vs: VectorStore, index: str, dtype: str, metric: str
) -> None:
    data = clustered(4000, 32, clusters=40, seed=1)
    queries = clustered(50, 32, clusters=40, seed=1)[:50] + 0.01
    vs.create_collection(T, "c", 32, metric=metric, dtype=dtype, index=index)
    vs.upsert(T, "c", data, ids=list(range(len(data))))
    found = vs.search_batch(T, "c", queries, k=10)
    ids = np.asarray([_ids(h) for h in found])
    truth = ground_truth(data, queries, 10, metric)
    assert recall(ids, truth) >= 0.9


def test_scores_follow_the_metric(vs: VectorStore) -> None:
    vs.create_collection(T, "l2", 2, metric="l2", dtype="f32", index="flat")
    vs.upsert(T, "l2", [[0, 0], [3, 4]], ids=["o", "p"])
    hits = vs.search(T, "l2", [0, 0], k=2)
    assert [(h["id"], round(h["score"], 4)) for h in hits] == [("o", 0.0), ("p", 25.0)]
    vs.create_collection(T, "cos", 2, metric="cosine", dtype="f32", index="flat")
    vs.upsert(T, "cos", [[2, 0], [0, 7]], ids=["x", "y"])
    hits = vs.search(T, "cos", [1, 0], k=2)
    assert [(h["id"], round(h["score"], 4)) for h in hits] == [("x", 1.0), ("y", 0.0)]


def test_search_returns_vectors_and_payloads_on_request(vs: VectorStore) -> None:
    vs.create_collection(T, "docs", 2, dtype="f32")
    vs.upsert(T, "docs", [[1, 0]], ids=["a"], payloads=[{"t": "x"}])
    bare = vs.search(T, "docs", [1, 0], k=1)[0]
    full = vs.search(T, "docs", [1, 0], k=1, with_vectors=True, with_payloads=True)[0]
    assert set(bare) == {"id", "score"}
    assert full["payload"] == {"t": "x"}
    assert full["vector"] == [1.0, 0.0]


@pytest.mark.parametrize("indexed", [True, False])
@pytest.mark.parametrize("share", [0.01, 0.1, 0.5])
def test_filtered_search_keeps_recall(vs: VectorStore, indexed: bool, share: float) -> None:
    n = 6000
    data = clustered(n, 32, clusters=60, seed=2)
    groups = np.random.default_rng(3).random(n) < share
    vs.create_collection(T, "f", 32, index="hnsw", payload_indexes=["grp"] if indexed else [])
    vs.upsert(
        T, "f", data, ids=list(range(n)), payloads=[{"grp": "in" if g else "out"} for g in groups]
    )
    queries = clustered(30, 32, clusters=60, seed=9)
    found = vs.search_batch(T, "f", queries, k=10, flt={"field": "grp", "eq": "in"})
    member_rows = np.flatnonzero(groups)
    truth = member_rows[ground_truth(data[member_rows], queries, 10)]
    ids = np.asarray([_ids(h) for h in found])
    assert all(groups[i] for i in ids.ravel())
    assert recall(ids, truth) >= 0.95


def test_batch_search_equals_single_searches(vs: VectorStore) -> None:
    data = clustered(500, 16, clusters=10)
    vs.create_collection(T, "b", 16, dtype="f32", index="flat")
    vs.upsert(T, "b", data)
    batch = vs.search_batch(T, "b", data[:5], k=3)
    singles = [vs.search(T, "b", q, k=3) for q in data[:5]]
    assert [_ids(h) for h in batch] == [_ids(h) for h in singles]
    scores = [[h["score"] for h in hits] for hits in batch]
    assert np.allclose(scores, [[h["score"] for h in hits] for hits in singles], atol=1e-5)


def test_query_cache_is_invalidated_by_writes(vs: VectorStore) -> None:
    vs.create_collection(T, "c", 2, metric="l2", dtype="f32", index="flat")
    vs.upsert(T, "c", [[5, 5]], ids=["far"])
    assert _ids(vs.search(T, "c", [0, 0], k=1)) == ["far"]
    assert _ids(vs.search(T, "c", [0, 0], k=1)) == ["far"]
    assert vs.stats(T, "c")["cache"]["hits"] == 1
    vs.upsert(T, "c", [[0, 0.1]], ids=["near"])
    assert _ids(vs.search(T, "c", [0, 0], k=1)) == ["near"]


def test_hnsw_f16_scores_are_rescored_in_float32(vs: VectorStore) -> None:
    vs.create_collection(T, "h", 16, dtype="f16")
    data = np.random.default_rng(3).normal(size=(200, 16)).astype(np.float32)
    vs.upsert(T, "h", data, ids=list(range(200)))
    unit = data / np.linalg.norm(data, axis=1, keepdims=True)
    hits = vs.search(T, "h", data[7], k=5)
    exact_scores = unit[[h["id"] for h in hits]] @ unit[7]
    assert np.allclose([h["score"] for h in hits], exact_scores, atol=1e-6)  # f16 is ~1e-3


@pytest.mark.parametrize("index", ["hnsw", "flat", "ivf"])
def test_search_columns_match_the_hits_of_search_batch(vs: VectorStore, index: str) -> None:
    vs.create_collection(T, "c", 8, metric="l2", dtype="f32", index=index)
    data = np.random.default_rng(5).normal(size=(300, 8)).astype(np.float32)
    vs.upsert(T, "c", data, ids=[f"v{i}" for i in range(300)])
    vs.delete(T, "c", ["v3"])
    batch = vs.search_batch(T, "c", data[:20], k=4)
    columns = vs.search_columns(T, "c", data[:20], k=4)
    assert columns.ids.tolist() == [_ids(hits) for hits in batch]
    scores = [[h["score"] for h in hits] for hits in batch]
    assert np.allclose(columns.scores, scores, atol=1e-6)
    assert "v3" not in columns.ids


def test_search_columns_mark_missing_hits_with_none_and_nan(vs: VectorStore) -> None:
    vs.create_collection(T, "c", 2, dtype="f32", index="hnsw")
    columns = vs.search_columns(T, "c", [[1, 0.1], [0, 1]], k=3)
    assert columns.ids.tolist() == [[None] * 3] * 2
    assert np.isnan(columns.scores).all()


def test_large_batches_bypass_the_query_cache(vs: VectorStore) -> None:
    vs.create_collection(T, "c", 2, metric="l2", dtype="f32", index="flat")
    vs.upsert(T, "c", [[5, 5]], ids=["far"])
    large = [[0.0, float(i)] for i in range(CACHED_BATCH + 1)]
    for _ in range(2):
        vs.search_batch(T, "c", large, k=1)
    assert vs.stats(T, "c")["cache"] == {"entries": 0, "hits": 0, "misses": 0}
    for _ in range(2):
        vs.search_batch(T, "c", large[:CACHED_BATCH], k=1)
    assert vs.stats(T, "c")["cache"] == {"entries": 1, "hits": 1, "misses": 1}


def test_bad_search_input(vs: VectorStore) -> None:
    vs.create_collection(T, "c", 2)
    vs.upsert(T, "c", [[1, 0]])
    for kwargs, code in [
        ({"vector": [1, 0, 0]}, "vectors.wrong_dimension"),
        ({"vector": [float("nan"), 0]}, "vectors.non_finite"),
        ({"vector": [1, 0], "k": 0}, "vectors.invalid_input"),
        ({"vector": [1, 0], "flt": {"or": "x"}}, "vectors.filter_invalid"),
    ]:
        with pytest.raises(AbiError) as info:
            vs.search(T, "c", **kwargs)
        assert info.value.code == code


def test_tenants_are_isolated(vs: VectorStore) -> None:
    vs.create_collection(T, "shared-name", 2)
    vs.upsert(T, "shared-name", [[1, 0]], ids=["secret"])
    with pytest.raises(AbiError) as info:
        vs.search(OTHER, "shared-name", [1, 0])
    assert info.value.code == "vectors.collection_not_found"
    vs.create_collection(OTHER, "shared-name", 2)
    assert vs.search(OTHER, "shared-name", [1, 0]) == []
    assert vs.list_collections(OTHER)[0]["count"] == 0


def test_stats_report_counts_params_and_latencies(vs: VectorStore) -> None:
    vs.create_collection(T, "s", 4, params={"connectivity": 8})
    vs.upsert(T, "s", np.ones((3, 4)))
    vs.search(T, "s", [1, 1, 1, 1])
    stats = vs.stats(T, "s")
    assert stats["count"] == 3
    assert stats["index_params"]["connectivity"] == 8
    assert stats["insert"]["items"] == 3
    assert stats["search"]["calls"] == 1
    assert stats["search"]["p99_ms"] > 0
    assert stats["memory_bytes"] > 0
    assert stats["disk_bytes"] > 0


@pytest.mark.parametrize("index", ["hnsw", "ivf", "flat"])
def test_reopen_restores_snapshot_and_wal_tail(settings: Settings, index: str) -> None:
    data = clustered(3000, 16, clusters=20)
    with Platform(settings) as first:
        first.vectors.create_collection(T, "p", 16, index=index, payload_indexes=["n"])
        first.vectors.upsert(
            T, "p", data[:2000], ids=list(range(2000)), payloads=[{"n": i} for i in range(2000)]
        )
        first.vectors.snapshot(T, "p")
        first.vectors.upsert(
            T,
            "p",
            data[2000:],
            ids=list(range(2000, 3000)),
            payloads=[{"n": i} for i in range(2000, 3000)],
        )
        first.vectors.delete(T, "p", [5])
        before = first.vectors.search_batch(T, "p", data[:20], k=5)
        first.vectors.collection(T, "p").wal.close()
        first.vectors._open.clear()  # drop without the final snapshot: the WAL must suffice
    with Platform(settings) as second:
        again = second.vectors.collection(T, "p")
        assert again.recovered_records == 2
        assert second.vectors.count(T, "p") == 2999
        assert second.vectors.search_batch(T, "p", data[:20], k=5) == before
        assert second.vectors.get(T, "p", 2500)["payload"] == {"n": 2500}
        assert _ids(
            second.vectors.search(T, "p", data[7], k=1, flt={"field": "n", "gte": 7, "lt": 8})
        ) == [7]


@pytest.mark.parametrize("indexed", [True, False])
@pytest.mark.parametrize("share", [0.05, 0.3])
def test_oversampled_filtered_search_keeps_recall(
    vs: VectorStore, monkeypatch: pytest.MonkeyPatch, indexed: bool, share: float
) -> None:
    from abi.vectors import collection as collection_module

    monkeypatch.setattr(collection_module, "EXACT_CANDIDATES", 50)  # force the ANN path
    n = 4000
    data = clustered(n, 32, clusters=40, seed=4)
    groups = np.random.default_rng(5).random(n) < share
    vs.create_collection(T, "o", 32, payload_indexes=["g"] if indexed else [])
    vs.upsert(T, "o", data, ids=list(range(n)), payloads=[{"g": int(g)} for g in groups])
    queries = clustered(30, 32, clusters=40, seed=4, sample_seed=2)
    found = vs.search_batch(T, "o", queries, k=10, flt={"field": "g", "eq": 1})
    member_rows = np.flatnonzero(groups)
    truth = member_rows[ground_truth(data[member_rows], queries, 10)]
    ids = np.asarray([_ids(h) for h in found])
    assert all(groups[i] for i in ids.ravel())
    assert recall(ids, truth) >= 0.95
