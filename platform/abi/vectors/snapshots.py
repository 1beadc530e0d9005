"""Snapshots: a directory per WAL position holding everything needed to reopen a collection.

Files: ``meta.json`` (sequence number, config, counts), ``data.npy`` / ``alive.npy`` /
``free.npy`` (the vector array), ``records.msgpack`` (slot, id and payload of every vector)
and the index's own files. A snapshot is written under a temporary name, fsynced, then
renamed into place: the newest complete directory is the one loaded.
"""

from __future__ import annotations

import json
import os
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import msgpack
import numpy as np

from abi.vectors.wal import fsync_dir

META = "meta.json"
RECORDS = "records.msgpack"
ARRAYS = ("data", "alive", "free")


@dataclass
class SnapshotState:
    seq: int
    config: dict[str, Any]
    arrays: dict[str, np.ndarray]
    slots: list[int]
    ids: list[Any]
    payloads: list[dict[str, Any]]


def _fsync_file(path: Path) -> None:
    with path.open("rb") as handle:
        os.fsync(handle.fileno())


def latest(root: Path) -> Path | None:
    """The newest complete snapshot directory under ``root``."""
    if not root.exists():
        return None
    done = [p for p in root.iterdir() if p.is_dir() and p.name.isdigit()]
    return max(done, key=lambda p: int(p.name)) if done else None


def write(root: Path, state: SnapshotState, save_index: Any) -> Path:
    """Write a snapshot atomically; ``save_index(dir)`` adds the index files."""
    root.mkdir(parents=True, exist_ok=True)
    final = root / f"{state.seq:020d}"
    if final.exists():
        return final
    tmp = root / f".tmp-{state.seq:020d}"
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir()
    for name in ARRAYS:
        np.save(tmp / f"{name}.npy", state.arrays[name])
    with (tmp / RECORDS).open("wb") as handle:
        packed = {"slots": state.slots, "ids": state.ids, "payloads": state.payloads}
        handle.write(msgpack.packb(packed, use_bin_type=True))
    index_files = save_index(tmp)
    meta = {
        "format": 1,
        "seq": state.seq,
        "config": state.config,
        "count": len(state.slots),
        "files": [*(f"{n}.npy" for n in ARRAYS), RECORDS, *index_files],
    }
    (tmp / META).write_text(json.dumps(meta, indent=1), encoding="utf-8")
    for path in tmp.iterdir():
        _fsync_file(path)
    fsync_dir(tmp)
    os.replace(tmp, final)
    fsync_dir(root)
    return final


def read(directory: Path) -> SnapshotState:
    meta = json.loads((directory / META).read_text(encoding="utf-8"))
    arrays = {name: np.load(directory / f"{name}.npy") for name in ARRAYS}
    with (directory / RECORDS).open("rb") as handle:
        packed = msgpack.unpackb(handle.read(), raw=False, strict_map_key=False)
    return SnapshotState(
        meta["seq"], meta["config"], arrays, packed["slots"], packed["ids"], packed["payloads"]
    )


def prune(root: Path, keep: Path) -> None:
    """Remove every snapshot and leftover temporary directory except ``keep``."""
    for path in root.iterdir():
        if path != keep and path.is_dir():
            shutil.rmtree(path, ignore_errors=True)


def disk_bytes(path: Path) -> int:
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file()) if path.exists() else 0
