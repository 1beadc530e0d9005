"""Flat combining of concurrent memory searches."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import numpy as np
import pytest

from abi.agents.batching import SearchCombiner


class Recorder:
    """A batch search whose hit for a query is its first component; the first batch waits
    for ``release`` so that other callers queue up meanwhile."""

    def __init__(self, hold_first: bool = False) -> None:
        self.sizes: list[int] = []
        self.entered = threading.Event()
        self.release = threading.Event()
        if not hold_first:
            self.release.set()

    def __call__(self, tenant: str, name: str, queries: Any, k: int) -> list[Any]:
        self.sizes.append(len(queries))
        self.entered.set()
        self.release.wait(10)
        return [[{"id": float(q[0]), "k": k, "tenant": tenant}] for q in queries]


def vec(value: float) -> Any:
    return np.array([value, 0.0], dtype=np.float32)


def test_a_lone_caller_runs_its_own_query() -> None:
    recorder = Recorder()
    hits = SearchCombiner(recorder).search("t", "c", vec(3), 5)
    assert hits == [{"id": 3.0, "k": 5, "tenant": "t"}]
    assert recorder.sizes == [1]


def test_concurrent_callers_share_batches_and_get_their_own_hits() -> None:
    recorder = Recorder(hold_first=True)
    combiner = SearchCombiner(recorder)
    with ThreadPoolExecutor(8) as pool:
        first = pool.submit(combiner.search, "t", "c", vec(0), 5)
        assert recorder.entered.wait(10)
        rest = [pool.submit(combiner.search, "t", "c", vec(i), 5) for i in range(1, 8)]
        while len(combiner._queues[("t", "c", 5)].pending) < 7:
            threading.Event().wait(0.01)
        recorder.release.set()
        results = [first.result(), *(f.result() for f in rest)]
    assert [r[0]["id"] for r in results] == [float(i) for i in range(8)]
    assert recorder.sizes == [1, 7]


def test_different_collections_are_not_mixed() -> None:
    recorder = Recorder()
    combiner = SearchCombiner(recorder)
    assert combiner.search("t1", "c", vec(1), 5)[0]["tenant"] == "t1"
    assert combiner.search("t2", "c", vec(1), 5)[0]["tenant"] == "t2"
    assert set(combiner._queues) == {("t1", "c", 5), ("t2", "c", 5)}


def test_a_failed_batch_fails_its_callers() -> None:
    def broken(tenant: str, name: str, queries: Any, k: int) -> list[Any]:
        raise RuntimeError("index unavailable")

    with pytest.raises(RuntimeError, match="index unavailable"):
        SearchCombiner(broken).search("t", "c", vec(1), 5)
