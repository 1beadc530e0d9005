"""What ``vectors.replication = "database"`` costs, against the local WAL in the same run:
insert rate, single-query latency (every use of a replicated collection first checks its
log's head), and how long a new node takes to catch up on the whole log. Run on the
SQLite metadata store (``abi bench vectors --replication-n N``); on PostgreSQL every check
is a network round trip instead of a file read."""

from __future__ import annotations

import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

from abi.vectors.datasets import clustered

TENANT = "t_bench"
BATCH = 1000


def _node(data_dir: Path, database_url: str, replication: str) -> Any:
    from abi.vectors.store import standalone

    return standalone(
        {
            "data_dir": data_dir,
            "store": {"database_url": database_url},
            "vectors": {"replication": replication, "query_cache_entries": 0},
        }
    )


def _write_and_search(store: Any, data: np.ndarray, queries: np.ndarray) -> dict[str, float]:
    store.create_collection(TENANT, "c", data.shape[1], dtype="f16")
    started = time.perf_counter()
    for start in range(0, len(data), BATCH):
        batch = data[start : start + BATCH]
        store.upsert(TENANT, "c", batch, ids=list(range(start, start + len(batch))))
    insert_per_s = len(data) / (time.perf_counter() - started)
    times = []
    for query in queries:
        started = time.perf_counter()
        store.search(TENANT, "c", query, k=10)
        times.append(time.perf_counter() - started)
    p50, p99 = np.percentile(np.asarray(times) * 1000, [50, 99])
    return {"insert_per_s": insert_per_s, "search_p50_ms": p50, "search_p99_ms": p99}


def measure_replication(n: int, dim: int = 96, queries: int = 500) -> dict[str, Any]:
    """Write ``n`` clustered vectors in batches of 1,000 and run ``queries`` single searches,
    with the local WAL and with the shared log; then time a second node's first search,
    which replays the whole log."""
    data = clustered(n, dim, clusters=max(10, n // 100))
    probes = clustered(queries, dim, clusters=max(10, n // 100), sample_seed=1)
    figures: dict[str, Any] = {"n": n, "dim": dim}
    with tempfile.TemporaryDirectory(prefix="wdbx-replication-") as tmp:
        root = Path(tmp)

        def url(mode: str) -> str:
            return f"sqlite:///{root / mode / 'abi.db'}"

        for mode in ("off", "database"):
            with _node(root / mode / "a", url(mode), mode) as store:
                measured = _write_and_search(store, data, probes)
            figures.update({f"{mode}_{key}": round(value, 3) for key, value in measured.items()})
        with _node(root / "database" / "newcomer", url("database"), "database") as newcomer:
            started = time.perf_counter()
            newcomer.search(TENANT, "c", probes[0], k=10)
            figures["newcomer_catch_up_s"] = round(time.perf_counter() - started, 3)
            if newcomer.count(TENANT, "c") != n:
                raise AssertionError("the new node did not find every vector in the log")
    figures["insert_ratio"] = round(
        figures["database_insert_per_s"] / figures["off_insert_per_s"], 3
    )
    figures["search_p99_ratio"] = round(
        figures["database_search_p99_ms"] / figures["off_search_p99_ms"], 3
    )
    return figures
