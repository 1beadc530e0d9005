"""Flat combining of concurrent memory searches: callers that search the same collection
at the same time are served by one ``search_batch`` call (usearch searches a batch faster
per query than one query at a time; ``abi bench agents`` reports the retrieval rate with
concurrent callers against the plain search).

A caller queues its query, then takes the collection's lock; whoever holds it runs every
query queued so far as one batch and hands each caller its hits. A caller alone runs its
own query at once, so there is no waiting for a batch to fill.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt

Hits = list[dict[str, Any]]
BatchSearch = Callable[[str, str, npt.NDArray[np.float32], int], list[Hits]]
"""(tenant_id, collection, queries (n, dim), k) -> the hits of each query."""


@dataclass
class _Slot:
    vector: npt.NDArray[np.float32]
    hits: Hits | None = None
    error: BaseException | None = None


@dataclass
class _Queue:
    lock: threading.Lock = field(default_factory=threading.Lock)
    pending: list[_Slot] = field(default_factory=list)


class SearchCombiner:
    """Coalesces concurrent searches per (tenant, collection, k)."""

    def __init__(self, search_batch: BatchSearch, max_batch: int = 256) -> None:
        self.search_batch = search_batch
        self.max_batch = max_batch
        self._guard = threading.Lock()
        self._queues: dict[tuple[str, str, int], _Queue] = {}
        self.batches = 0
        self.queries = 0

    def search(
        self, tenant_id: str, collection: str, vector: npt.NDArray[np.float32], k: int
    ) -> Hits:
        """The hits of ``vector``, possibly computed in a batch with other callers'."""
        key = (tenant_id, collection, k)
        slot = _Slot(vector)
        with self._guard:
            queue = self._queues.setdefault(key, _Queue())
            queue.pending.append(slot)
        while True:
            with queue.lock:
                if slot.hits is not None or slot.error is not None:
                    break
                with self._guard:
                    batch = queue.pending[: self.max_batch]
                    del queue.pending[: len(batch)]
                self._run(key, batch)
        if slot.error is not None:
            raise slot.error
        assert slot.hits is not None
        return slot.hits

    def _run(self, key: tuple[str, str, int], batch: list[_Slot]) -> None:
        tenant_id, collection, k = key
        try:
            results = self.search_batch(
                tenant_id, collection, np.stack([s.vector for s in batch]), k
            )
        except BaseException as exc:
            for slot in batch:
                slot.error = exc
            return
        self.batches += 1
        self.queries += len(batch)
        for slot, hits in zip(batch, results, strict=True):
            slot.hits = hits
