"""Crash safety: a child process writes batches and prints an acknowledgement after each;
it is SIGKILLed at random points (also during background snapshots); on reopen every
acknowledged write is there, every batch is all-or-nothing, and nothing is corrupted.

Run as a script (``python test_vectors_crash.py child DATA_DIR ROUND``) it is the child.
"""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

from abi.config import Settings, load_settings
from abi.store import Database
from abi.vectors import VectorStore
from abi.vectors.tables import MIGRATIONS

TENANT = "t_crash"
NAME = "docs"
DIM = 16
BATCH = 40
ROUNDS = 6


def _settings(data_dir: Path) -> Settings:
    return load_settings(
        environ={},
        overrides={
            "data_dir": data_dir,
            "vectors": {"fsync": "batch", "snapshot_every_writes": 200},
        },
    )


def _open(data_dir: Path) -> VectorStore:
    settings = _settings(data_dir)
    db = Database(settings.database_url)
    db.migrate(MIGRATIONS)
    store = VectorStore(settings, db)
    store.start()
    return store


def _batch(round_no: int, batch: int) -> tuple[list[str], np.ndarray]:
    rng = np.random.default_rng(round_no * 100_000 + batch)
    ids = [f"r{round_no}-b{batch}-{i}" for i in range(BATCH)]
    return ids, rng.normal(size=(BATCH, DIM)).astype(np.float32)


def child(data_dir: Path, round_no: int) -> None:
    store = _open(data_dir)
    if round_no == 0:
        store.create_collection(TENANT, NAME, DIM, metric="l2", dtype="f32", index="hnsw")
    print("ready", flush=True)
    batch = 0
    while True:
        ids, vectors = _batch(round_no, batch)
        store.upsert(TENANT, NAME, vectors, ids=ids, payloads=[{"b": batch}] * BATCH)
        print(f"ack {batch}", flush=True)
        if batch % 3 == 2:  # delete the first vector of the batch before
            store.delete(TENANT, NAME, [f"r{round_no}-b{batch - 1}-0"])
            print(f"del {batch - 1}", flush=True)
        batch += 1


def _run_and_kill(data_dir: Path, round_no: int, rng: random.Random) -> tuple[set[int], set[int]]:
    proc = subprocess.Popen(
        [sys.executable, __file__, "child", str(data_dir), str(round_no)],
        stdout=subprocess.PIPE,
        text=True,
    )
    assert proc.stdout is not None
    assert proc.stdout.readline().strip() == "ready"
    acked: set[int] = set()
    deleted: set[int] = set()
    target = rng.randint(2, 25)
    while len(acked) < target:
        line = proc.stdout.readline().split()
        assert line, "child exited early"
        (acked if line[0] == "ack" else deleted).add(int(line[1]))
    time.sleep(rng.random() * 0.02)
    os.kill(proc.pid, signal.SIGKILL)
    for line in proc.stdout.read().split("\n"):  # acknowledgements already in the pipe
        if line:
            kind, batch = line.split()
            (acked if kind == "ack" else deleted).add(int(batch))
    proc.wait()
    return acked, deleted


def _check_round(store: VectorStore, round_no: int, acked: set[int], deleted: set[int]) -> int:
    present = 0
    for batch in range(max(acked) + 3):
        ids, vectors = _batch(round_no, batch)
        found = [store.collection(TENANT, NAME).ids.get(i) is not None for i in ids]
        if batch in acked:
            assert all(found[1:]), f"round {round_no}: acknowledged batch {batch} lost"
            if batch in deleted:
                assert not found[0], f"round {round_no}: acknowledged delete of {batch} lost"
            got = store.get(TENANT, NAME, ids[1])
            assert np.allclose(got["vector"], vectors[1])
            assert got["payload"] == {"b": batch}
        else:
            assert not any(found[1:]) or all(found[1:]), f"batch {batch} partially applied"
        present += sum(found)
    return present


def test_acknowledged_writes_survive_sigkill(tmp_path: Path) -> None:
    rng = random.Random(1234)
    data_dir = tmp_path / "data"
    expected_total = 0
    replayed = 0
    for round_no in range(ROUNDS):
        acked, deleted = _run_and_kill(data_dir, round_no, rng)
        store = _open(data_dir)
        try:
            expected_total += _check_round(store, round_no, acked, deleted)
            collection = store.collection(TENANT, NAME)
            assert collection.count() == expected_total
            hits = store.search(TENANT, NAME, np.zeros(DIM), k=5)
            assert len(hits) == 5
            replayed += collection.recovered_records
        finally:
            store.stop()
    assert replayed > 0, "no round exercised WAL replay"


if __name__ == "__main__" and sys.argv[1:2] == ["child"]:
    child(Path(sys.argv[2]), int(sys.argv[3]))
