"""Backup archives: round trip, verification, refusal of damaged archives."""

from __future__ import annotations

import io
import json
import tarfile
from pathlib import Path

import numpy as np
import pytest

from abi.errors import AbiError
from abi.runtime import Platform
from abi.vectors import VectorStore
from abi.vectors.datasets import clustered

SRC = "t_source"
DST = "t_target"


@pytest.fixture
def vs(platform: Platform) -> VectorStore:
    store: VectorStore = platform.vectors
    data = clustered(600, 8, clusters=6)
    store.create_collection(SRC, "a", 8, payload_indexes=["n"])
    store.upsert(SRC, "a", data, ids=list(range(600)), payloads=[{"n": i} for i in range(600)])
    store.create_collection(SRC, "b", 8, metric="l2", dtype="f32", index="flat")
    store.upsert(SRC, "b", data[:10], ids=[f"x{i}" for i in range(10)])
    return store


def test_tenant_round_trip(vs: VectorStore, tmp_path: Path) -> None:
    archive = tmp_path / "tenant.tar"
    manifest = vs.backup(SRC, archive)
    assert [c["name"] for c in manifest["collections"]] == ["a", "b"]
    assert vs.restore(DST, archive) == ["a", "b"]
    query = clustered(600, 8, clusters=6)[3]
    for name in ("a", "b"):
        assert vs.count(DST, name) == vs.count(SRC, name)
        assert vs.search(DST, name, query, k=5) == vs.search(SRC, name, query, k=5)
    assert vs.get(DST, "a", 42)["payload"] == {"n": 42}
    flt = {"field": "n", "lt": 3}
    assert len(vs.search(DST, "a", query, k=10, flt=flt)) == 3


def test_single_collection_backup_and_overwrite(vs: VectorStore, tmp_path: Path) -> None:
    archive = tmp_path / "b.tar"
    vs.backup(SRC, archive, ["b"])
    vs.delete(SRC, "b", ["x0", "x1"])
    with pytest.raises(AbiError) as info:
        vs.restore(SRC, archive)
    assert info.value.code == "vectors.collection_exists"
    assert vs.count(SRC, "b") == 8
    assert vs.restore(SRC, archive, overwrite=True) == ["b"]
    assert vs.count(SRC, "b") == 10


def _rewrite(archive: Path, target: Path, change: str) -> None:
    with tarfile.open(archive) as src, tarfile.open(target, "w") as out:
        for member in src.getmembers():
            data = src.extractfile(member).read()  # type: ignore[union-attr]
            if change == "flip" and member.name.endswith("data.npy"):
                data = data[:-1] + bytes([data[-1] ^ 1])
            if change == "manifest" and member.name == "manifest.json":
                manifest = json.loads(data)
                manifest["format"] = "something-else"
                data = json.dumps(manifest).encode()
                member.size = len(data)
            if change == "drop" and member.name.endswith("records.msgpack"):
                continue
            out.addfile(member, io.BytesIO(data))


@pytest.mark.parametrize("change", ["flip", "manifest", "drop", "truncate"])
def test_damaged_archive_is_refused_and_nothing_changes(
    vs: VectorStore, tmp_path: Path, change: str
) -> None:
    archive = tmp_path / "ok.tar"
    vs.backup(SRC, archive)
    damaged = tmp_path / "damaged.tar"
    if change == "truncate":
        damaged.write_bytes(archive.read_bytes()[: archive.stat().st_size // 2])
    else:
        _rewrite(archive, damaged, change)
    with pytest.raises(AbiError) as info:
        vs.restore(DST, damaged)
    assert info.value.code == "vectors.backup_corrupt"
    assert vs.list_collections(DST) == []


def test_backup_contains_writes_made_after_the_last_snapshot(
    vs: VectorStore, tmp_path: Path
) -> None:
    vs.upsert(SRC, "b", np.ones((1, 8)), ids=["late"])
    archive = tmp_path / "late.tar"
    vs.backup(SRC, archive, ["b"])
    vs.restore(DST, archive)
    assert vs.get(DST, "b", "late")["vector"] == [1.0] * 8
