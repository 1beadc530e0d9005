"""The host-service adapters onto WDBX and the default embedder, on real components."""

from __future__ import annotations

import pytest

from abi.errors import AbiError
from abi.plugins.host.base import HostFailure
from abi.plugins.host_adapters import EmbedderAdapter, VectorStoreAdapter
from abi.runtime import Platform


@pytest.fixture
def vectors(platform: Platform) -> VectorStoreAdapter:
    platform.vectors.create_collection("t1", "docs", 2, dtype="f32", index="flat")
    return VectorStoreAdapter(platform.vectors)


def test_get_returns_stored_items_and_skips_absent_ids(vectors: VectorStoreAdapter) -> None:
    vectors.upsert("t1", "docs", [{"id": 1, "vector": [1.0, 0.0], "payload": {"k": "v"}}])
    items = vectors.get("t1", "docs", [1, 99])
    assert items == [{"id": 1, "vector": [1.0, 0.0], "payload": {"k": "v"}}]


def test_get_in_a_missing_collection_fails(vectors: VectorStoreAdapter) -> None:
    with pytest.raises(AbiError) as caught:
        vectors.get("t1", "nope", [1])
    assert caught.value.code == "vectors.collection_not_found"


def test_delete_counts_removed_items(vectors: VectorStoreAdapter) -> None:
    vectors.upsert("t1", "docs", [{"id": i, "vector": [1.0, float(i)]} for i in range(3)])
    assert vectors.delete("t1", "docs", [0, 2]) == 2
    assert [item["id"] for item in vectors.get("t1", "docs", [0, 1, 2])] == [1]


def test_upsert_needs_id_and_vector(vectors: VectorStoreAdapter) -> None:
    assert vectors.upsert("t1", "docs", []) == 0
    with pytest.raises(HostFailure) as caught:
        vectors.upsert("t1", "docs", [{"vector": [1.0, 0.0]}])
    assert caught.value.code == "bad_argument"


def test_collections_are_per_tenant(vectors: VectorStoreAdapter) -> None:
    vectors.upsert("t1", "docs", [{"id": 1, "vector": [1.0, 0.0]}])
    with pytest.raises(AbiError):
        vectors.search("t2", "docs", [1.0, 0.0], 1, None)


def test_embedder_answers_for_its_own_model_only(platform: Platform) -> None:
    embed = EmbedderAdapter(platform.embedder)
    rows = embed.embed("t1", ["hello", "world"], None)
    assert len(rows) == 2 and len(rows[0]) == platform.embedder.dim
    assert embed.embed("t1", [], platform.embedder.name) == []
    with pytest.raises(HostFailure) as caught:
        embed.embed("t1", ["x"], "some-other-model")
    assert caught.value.code == "not_found"
