"""Load balancing across the replicas of an agent.

Each replica keeps its outstanding requests, an EWMA of its latency, its health (from
checks) and a circuit breaker. ``pick`` chooses among the healthy replicas whose circuit
admits a call the one with the fewest outstanding requests, breaking ties by the lowest
latency EWMA. Use ``async with balancer.call() as replica:`` to have outcome and latency
recorded.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

from abi.agents.circuit import CircuitBreaker
from abi.errors import AbiError, Unavailable

T = TypeVar("T")


@dataclass
class Replica(Generic[T]):
    """One backend instance and what the balancer knows about it."""

    target: T
    breaker: CircuitBreaker
    outstanding: int = 0
    ewma_ms: float | None = None
    healthy: bool = True
    successes: int = 0
    failures: int = 0
    last_error: str | None = None
    lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def snapshot(self) -> dict[str, Any]:
        return {
            "target": str(self.target),
            "outstanding": self.outstanding,
            "latency_ewma_ms": None if self.ewma_ms is None else round(self.ewma_ms, 3),
            "healthy": self.healthy,
            "circuit": self.breaker.state,
            "successes": self.successes,
            "failures": self.failures,
            "last_error": self.last_error,
        }


def is_replica_failure(error: BaseException) -> bool:
    """Whether ``error`` says something about the replica: a refusal of the request itself
    (an AbiError other than Unavailable, e.g. bad input or a provider's 4xx) does not, and
    neither does cancellation by the caller."""
    if isinstance(error, asyncio.CancelledError):
        return False
    return not isinstance(error, AbiError) or isinstance(error, Unavailable)


class Balancer(Generic[T]):
    """Least-outstanding-requests balancing with latency EWMA, health and circuit breaking."""

    def __init__(
        self,
        targets: Sequence[T],
        *,
        alpha: float = 0.3,
        failure_threshold: int = 5,
        reset_seconds: float = 30.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if not targets:
            raise ValueError("a balancer needs at least one replica")
        if not 0 < alpha <= 1:
            raise ValueError("alpha must be in (0, 1]")
        self.alpha = alpha
        self._clock = clock
        self.replicas: list[Replica[T]] = [
            Replica(target, CircuitBreaker(failure_threshold, reset_seconds, clock=clock))
            for target in targets
        ]

    @property
    def outstanding(self) -> int:
        return sum(replica.outstanding for replica in self.replicas)

    def pick(self) -> Replica[T]:
        """The best replica that may take a call now (reserving a half-open probe); raises
        Unavailable when every replica is unhealthy or has an open circuit."""
        ranked = sorted(
            (r for r in self.replicas if r.healthy and r.breaker.available()),
            key=lambda r: (r.outstanding, r.ewma_ms if r.ewma_ms is not None else 0.0),
        )
        for replica in ranked:
            if replica.breaker.acquire():
                with replica.lock:
                    replica.outstanding += 1
                return replica
        raise Unavailable(
            f"no replica can take the call: {len(self.replicas)} replica(s), all unhealthy "
            "or with an open circuit; retry later",
            code="agents.no_replica",
        )

    def release(self, replica: Replica[T], elapsed_ms: float, error: BaseException | None) -> None:
        """Record the outcome of a call started with :meth:`pick` (an error that is not the
        replica's fault counts as neither a success nor a failure)."""
        if error is not None and not is_replica_failure(error):
            with replica.lock:
                replica.outstanding -= 1
            replica.breaker.release_probe()
            return
        with replica.lock:
            replica.outstanding -= 1
            if error is None:
                replica.successes += 1
                replica.ewma_ms = (
                    elapsed_ms
                    if replica.ewma_ms is None
                    else self.alpha * elapsed_ms + (1 - self.alpha) * replica.ewma_ms
                )
            else:
                replica.failures += 1
                replica.last_error = f"{type(error).__name__}: {error}"
        if error is None:
            replica.breaker.record_success()
        else:
            replica.breaker.record_failure()

    @asynccontextmanager
    async def call(self) -> AsyncIterator[Replica[T]]:
        """Pick a replica for the duration of the block; record latency and outcome."""
        replica = self.pick()
        started = self._clock()
        try:
            yield replica
        except BaseException as exc:
            self.release(replica, (self._clock() - started) * 1000, exc)
            raise
        self.release(replica, (self._clock() - started) * 1000, None)

    async def check_health(self, probe: Callable[[T], Awaitable[bool]]) -> list[bool]:
        """Run ``probe`` on every replica and record its health (an exception is unhealthy)."""
        results: list[bool] = []
        for replica in self.replicas:
            try:
                ok = bool(await probe(replica.target))
                error = None if ok else "health check failed"
            except Exception as exc:
                ok, error = False, f"{type(exc).__name__}: {exc}"
            replica.healthy = ok
            if error is not None:
                replica.last_error = error
            results.append(ok)
        return results

    def snapshot(self) -> list[dict[str, Any]]:
        return [replica.snapshot() for replica in self.replicas]
