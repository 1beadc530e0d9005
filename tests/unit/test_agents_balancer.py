"""The load balancer and its circuit breaker, on a controllable clock."""

from __future__ import annotations

import pytest

from abi.agents.balancer import Balancer
from abi.agents.circuit import CircuitBreaker
from abi.errors import InvalidInput, Unavailable


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_breaker_opens_after_consecutive_failures() -> None:
    breaker = CircuitBreaker(failure_threshold=3, reset_seconds=10, clock=Clock())
    for _ in range(2):
        breaker.record_failure()
    assert breaker.state == "closed"
    breaker.record_failure()
    assert breaker.state == "open"
    assert not breaker.acquire()


def test_a_success_resets_the_failure_count() -> None:
    breaker = CircuitBreaker(failure_threshold=2, clock=Clock())
    breaker.record_failure()
    breaker.record_success()
    breaker.record_failure()
    assert breaker.state == "closed"


def test_breaker_half_opens_after_reset_and_admits_one_probe() -> None:
    clock = Clock()
    breaker = CircuitBreaker(failure_threshold=1, reset_seconds=5, clock=clock)
    breaker.record_failure()
    clock.now += 5
    assert breaker.state == "half_open"
    assert breaker.acquire()
    assert not breaker.acquire()


def test_failed_probe_reopens_and_successful_probe_closes() -> None:
    clock = Clock()
    breaker = CircuitBreaker(failure_threshold=1, reset_seconds=5, clock=clock)
    breaker.record_failure()
    clock.now += 5
    breaker.acquire()
    breaker.record_failure()
    assert breaker.state == "open"
    clock.now += 5
    breaker.acquire()
    breaker.record_success()
    assert breaker.state == "closed"


def test_pick_prefers_fewest_outstanding_requests() -> None:
    balancer = Balancer(["a", "b"], clock=Clock())
    first = balancer.pick()
    second = balancer.pick()
    assert {first.target, second.target} == {"a", "b"}
    balancer.release(first, 1.0, None)
    assert balancer.pick().target == first.target


def test_pick_breaks_ties_by_latency_ewma() -> None:
    balancer = Balancer(["slow", "fast"], clock=Clock())
    slow, fast = balancer.replicas
    slow.ewma_ms, fast.ewma_ms = 50.0, 5.0
    assert balancer.pick().target == "fast"


def test_ewma_moves_towards_new_latencies() -> None:
    balancer = Balancer(["a"], alpha=0.5, clock=Clock())
    for ms in (10.0, 20.0):
        balancer.release(balancer.pick(), ms, None)
    assert balancer.replicas[0].ewma_ms == pytest.approx(15.0)


def test_replica_with_open_circuit_is_skipped() -> None:
    balancer = Balancer(["bad", "good"], failure_threshold=1, clock=Clock())
    bad = balancer.replicas[0]
    assert balancer.pick() is bad
    balancer.release(bad, 1.0, RuntimeError("boom"))
    assert bad.breaker.state == "open"
    assert all(balancer.pick().target == "good" for _ in range(3))


def test_unhealthy_everywhere_raises_unavailable() -> None:
    balancer = Balancer(["a", "b"], clock=Clock())
    for replica in balancer.replicas:
        replica.healthy = False
    with pytest.raises(Unavailable) as caught:
        balancer.pick()
    assert caught.value.code == "agents.no_replica"


async def test_call_records_failure_and_releases_outstanding() -> None:
    balancer = Balancer(["a"], clock=Clock())
    with pytest.raises(ValueError):
        async with balancer.call():
            raise ValueError("backend failed")
    replica = balancer.replicas[0]
    assert replica.outstanding == 0
    assert replica.failures == 1
    assert replica.last_error == "ValueError: backend failed"


async def test_health_check_marks_replicas() -> None:
    balancer = Balancer(["up", "down", "broken"], clock=Clock())

    async def probe(target: str) -> bool:
        if target == "broken":
            raise ConnectionError("refused")
        return target == "up"

    assert await balancer.check_health(probe) == [True, False, False]
    assert balancer.pick().target == "up"
    assert "refused" in (balancer.replicas[2].last_error or "")


async def test_request_errors_do_not_open_the_circuit() -> None:
    balancer = Balancer(["a"], failure_threshold=1, clock=Clock())
    with pytest.raises(InvalidInput):
        async with balancer.call():
            raise InvalidInput("bad query")
    replica = balancer.replicas[0]
    assert replica.breaker.state == "closed"
    assert (replica.failures, replica.outstanding) == (0, 0)
    with pytest.raises(Unavailable):
        async with balancer.call():
            raise Unavailable("provider down")
    assert replica.breaker.state == "open"
