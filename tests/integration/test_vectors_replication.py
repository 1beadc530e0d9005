"""WDBX replicated through the metadata database (``vectors.replication = "database"``): two
or three VectorStores ("nodes"), each with its own data directory, share one database file.
The PostgreSQL flavour of the same runs through the REST API in test_multinode.py."""

from __future__ import annotations

import shutil
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import ExitStack
from pathlib import Path

import numpy as np
import pytest

from abi.errors import AbiError
from abi.vectors import VectorStore
from abi.vectors.store import standalone

T = "t_repl"
Node = Callable[..., VectorStore]


@pytest.fixture
def node(tmp_path: Path) -> Iterator[Node]:
    """Start a node on the shared database: ``node("a")`` (data under tmp/a)."""
    url = f"sqlite:///{tmp_path / 'shared.db'}"
    with ExitStack() as started:

        def start(name: str, replication: str = "database", workers: int = 1) -> VectorStore:
            overrides = {
                "data_dir": tmp_path / name,
                "server": {"workers": workers},
                "store": {"database_url": url},
                "vectors": {"replication": replication, "snapshot_every_writes": 1_000_000},
            }
            return started.enter_context(standalone(overrides))

        yield start


def _vectors(n: int, dim: int = 8, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).normal(size=(n, dim)).astype(np.float32)


def test_a_write_through_one_node_is_found_through_the_other(node: Node) -> None:
    a, b = node("a"), node("b")
    a.create_collection(T, "docs", 8, dtype="f32", index="flat")
    data = _vectors(20)
    a.upsert(T, "docs", data, ids=list(range(20)), payloads=[{"i": i} for i in range(20)])
    hits = b.search(T, "docs", data[7], k=1, with_payloads=True)
    assert hits[0]["id"] == 7
    assert hits[0]["payload"] == {"i": 7}
    assert b.count(T, "docs") == 20


def test_updates_and_deletes_through_either_node_reach_both(node: Node) -> None:
    a, b = node("a"), node("b")
    a.create_collection(T, "docs", 8, dtype="f32", index="flat")
    a.upsert(T, "docs", _vectors(3), ids=["x", "y", "z"])
    b.update(T, "docs", "x", payload={"tag": "new"})
    b.delete(T, "docs", ["y"])
    assert a.get(T, "docs", "x")["payload"] == {"tag": "new"}
    assert a.count(T, "docs") == 2
    with pytest.raises(AbiError) as info:
        a.get(T, "docs", "y")
    assert info.value.code == "vectors.vector_not_found"


def test_concurrent_writers_on_two_nodes_leave_identical_copies(node: Node) -> None:
    a, b = node("a"), node("b")
    a.create_collection(T, "docs", 8, dtype="f32", index="hnsw")
    data = _vectors(400)

    def write(store: VectorStore, offset: int) -> None:
        for start in range(offset, 400, 40):
            store.upsert(T, "docs", data[start : start + 20], ids=list(range(start, start + 20)))
            store.update(T, "docs", start, payload={"by": offset})

    workers = [threading.Thread(target=write, args=(s, o)) for s, o in ((a, 0), (b, 20))]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    assert a.count(T, "docs") == b.count(T, "docs") == 400
    page_a = a.list_vectors(T, "docs", limit=400, with_vectors=True)
    page_b = b.list_vectors(T, "docs", limit=400, with_vectors=True)
    assert page_a == page_b  # same records applied in the same order on both
    assert (
        a.stats(T, "docs")["wal_seq"] == b.stats(T, "docs")["wal_seq"] == 40
    )  # 2 nodes x 10 rounds x (upsert + update)


def test_a_node_that_lost_its_disk_rebuilds_from_the_log(node: Node, tmp_path: Path) -> None:
    a = node("a")
    a.create_collection(T, "docs", 8, dtype="f32", index="ivf")
    data = _vectors(3000)
    a.upsert(T, "docs", data, ids=list(range(3000)))
    a.snapshot(T, "docs")
    a.delete(T, "docs", [0, 1])
    a.stop()
    shutil.rmtree(tmp_path / "a")
    again = node("a")
    assert again.count(T, "docs") == 2998
    assert again.search(T, "docs", data[5], k=1)[0]["id"] == 5
    assert again.stats(T, "docs")["log"] == "database"


def test_a_restarted_node_replays_only_the_records_after_its_snapshot(
    node: Node, tmp_path: Path
) -> None:
    a = node("a")
    a.create_collection(T, "docs", 8, dtype="f32", index="flat")
    a.upsert(T, "docs", _vectors(10), ids=list(range(10)))
    a.snapshot(T, "docs")
    shutil.copytree(tmp_path / "a", tmp_path / "a-disk")  # the disk as a crash would leave it
    a.upsert(T, "docs", _vectors(2, seed=1), ids=[10, 11])
    restarted = node("a-disk")
    assert restarted.count(T, "docs") == 12
    assert restarted.collection(T, "docs").recovered_records == 1


def _dropped_after_b_read_it(node: Node) -> tuple[VectorStore, VectorStore]:
    """Nodes a and b, after b has read a collection that a then dropped."""
    a, b = node("a"), node("b")
    a.create_collection(T, "docs", 8, dtype="f32", index="flat")
    a.upsert(T, "docs", _vectors(5), ids=list(range(5)))
    assert b.count(T, "docs") == 5
    a.drop_collection(T, "docs")
    return a, b


def test_a_drop_through_one_node_is_seen_by_the_other(node: Node) -> None:
    _a, b = _dropped_after_b_read_it(node)
    with pytest.raises(AbiError) as info:
        b.count(T, "docs")
    assert info.value.code == "vectors.collection_not_found"


def test_a_collection_created_again_replaces_the_other_nodes_copy(node: Node) -> None:
    a, b = _dropped_after_b_read_it(node)
    a.create_collection(T, "docs", 4, dtype="f32", index="flat")
    a.upsert(T, "docs", _vectors(1, dim=4), ids=["only"])
    assert b.describe_collection(T, "docs")["dim"] == 4
    assert [h["id"] for h in b.list_vectors(T, "docs")] == ["only"]


def test_a_write_to_a_collection_dropped_elsewhere_is_refused(node: Node) -> None:
    a, b = node("a"), node("b")
    a.create_collection(T, "docs", 8, dtype="f32", index="flat")
    collection = b.collection(T, "docs")
    a.drop_collection(T, "docs")
    with pytest.raises(AbiError) as info:
        collection.upsert(_vectors(1), ids=[1])
    assert info.value.code == "vectors.collection_not_found"
    assert collection.gone


def test_a_collection_made_before_replication_is_published_on_first_use(node: Node) -> None:
    single = node("a", replication="off")
    single.create_collection(T, "docs", 8, dtype="f32", index="flat")
    single.upsert(T, "docs", _vectors(6), ids=list(range(6)))
    single.stop()
    a, b = node("a"), node("b")
    assert a.count(T, "docs") == 6
    assert b.count(T, "docs") == 6


def test_a_restored_backup_reaches_every_node(node: Node, tmp_path: Path) -> None:
    a, b = node("a"), node("b")
    a.create_collection(T, "docs", 8, dtype="f32", index="flat")
    a.upsert(T, "docs", _vectors(7), ids=list(range(7)))
    archive = tmp_path / "docs.tar"
    a.backup(T, archive)
    a.delete(T, "docs", [0, 1, 2])
    assert b.count(T, "docs") == 4
    assert a.restore(T, archive, overwrite=True) == ["docs"]
    assert b.count(T, "docs") == 7
    assert a.count(T, "docs") == 7


def test_the_background_loop_keeps_followers_current(node: Node) -> None:
    a, b = node("a"), node("b")
    a.create_collection(T, "docs", 8, dtype="f32", index="flat")
    follower = b.collection(T, "docs")
    a.upsert(T, "docs", _vectors(3), ids=[1, 2, 3])
    deadline = time.monotonic() + 30  # the loop runs every second; wait without reading via b
    while follower.count() != 3 and time.monotonic() < deadline:
        time.sleep(0.05)
    assert follower.count() == 3


def test_processes_sharing_a_data_directory_keep_separate_copies(
    node: Node, tmp_path: Path
) -> None:
    first, second = node("shared"), node("shared")  # e.g. two server workers of one node
    assert first.root != second.root
    first.create_collection(T, "docs", 8, dtype="f32", index="flat")
    first.upsert(T, "docs", _vectors(4), ids=list(range(4)))
    assert second.count(T, "docs") == 4
    assert sorted(p.name for p in (tmp_path / "shared" / "vectors").iterdir()) == [
        "replica-0",
        "replica-1",
    ]


@pytest.mark.parametrize(("workers", "replicated"), [(1, False), (2, True)])
def test_auto_replication_on_sqlite_follows_the_number_of_workers(
    node: Node, workers: int, replicated: bool
) -> None:
    assert node("a", replication="auto", workers=workers).replicated is replicated
