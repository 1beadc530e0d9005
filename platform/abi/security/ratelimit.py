"""Token-bucket rate limiting per key (a tenant's client, or a remote address).

Buckets live in process memory, so with several server workers each worker enforces the
limit on its own share of the connections; a multi-node deployment needs a shared store.
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable

from abi.errors import RateLimited

MAX_BUCKETS = 100_000


class RateLimiter:
    """``rate_per_minute`` sustained, ``burst`` at once, per key."""

    def __init__(
        self,
        rate_per_minute: int,
        burst: int,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.rate = rate_per_minute / 60.0
        self.burst = float(burst)
        self._clock = clock
        self._buckets: dict[str, tuple[float, float]] = {}
        self._lock = threading.Lock()

    def check(self, key: str, cost: float = 1.0) -> None:
        """Take ``cost`` tokens from ``key``'s bucket or raise RateLimited with retry_after."""
        now = self._clock()
        with self._lock:
            tokens, last = self._buckets.get(key, (self.burst, now))
            tokens = min(self.burst, tokens + (now - last) * self.rate)
            if tokens < cost:
                self._buckets[key] = (tokens, now)
                wait = (cost - tokens) / self.rate
                raise RateLimited(
                    f"rate limit exceeded; retry in {math.ceil(wait)} s",
                    retry_after=math.ceil(wait),
                )
            self._buckets[key] = (tokens - cost, now)
            if len(self._buckets) > MAX_BUCKETS:
                self._evict_full(now)

    def _evict_full(self, now: float) -> None:
        full = [
            k
            for k, (tokens, last) in self._buckets.items()
            if tokens + (now - last) * self.rate >= self.burst
        ]
        for k in full:
            del self._buckets[k]
