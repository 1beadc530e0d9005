"""Many small matrix products in parallel: one BLAS thread each, one worker per core.

Multi-threaded BLAS on small products (tens of rows) spends its time synchronising its
threads, which on a busy machine costs 5-10x; running independent small products on our own
workers, each with a single-threaded BLAS, keeps every core doing arithmetic.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

T = TypeVar("T")
WORKERS = os.cpu_count() or 1
_lock = threading.Lock()
_pool: ThreadPoolExecutor | None = None
_controller: Any = None


def _resources() -> tuple[ThreadPoolExecutor, Any]:
    global _pool, _controller  # noqa: PLW0603 - process-wide, built on first use
    with _lock:
        if _pool is None:
            from threadpoolctl import ThreadpoolController

            _controller = ThreadpoolController()
            _pool = ThreadPoolExecutor(WORKERS, thread_name_prefix="wdbx-blas")
        return _pool, _controller


def run_chunked(items: Sequence[T], work: Callable[[Sequence[T]], None]) -> None:
    """Call ``work`` on interleaved chunks of ``items`` on the workers, BLAS single-threaded
    meanwhile; ``work`` must write only to places no other chunk writes."""
    if len(items) <= 1:  # nothing to share out: no pool, and no BLAS limit to set (0.2 ms)
        work(items)
        return
    pool, controller = _resources()
    chunks = [items[i::WORKERS] for i in range(WORKERS) if items[i::WORKERS]]
    with controller.limit(limits=1, user_api="blas"):
        for future in [pool.submit(work, chunk) for chunk in chunks]:
            future.result()


def pieces(n: int, count: int) -> list[tuple[int, int]]:
    """range(n) cut into at most ``count`` (start, stop) pieces of near-equal size."""
    step = max(1, -(-n // count))
    return [(a, min(a + step, n)) for a in range(0, n, step)]
