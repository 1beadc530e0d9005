"""The token bucket, on a fake clock."""

from __future__ import annotations

import pytest

from abi.errors import RateLimited
from abi.security.ratelimit import RateLimiter


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_burst_then_refused_with_retry_after() -> None:
    clock = Clock()
    limiter = RateLimiter(rate_per_minute=60, burst=2, clock=clock)
    limiter.check("k")
    limiter.check("k")
    with pytest.raises(RateLimited) as exc:
        limiter.check("k")
    assert exc.value.retry_after == 1


def test_tokens_refill_at_the_configured_rate() -> None:
    clock = Clock()
    limiter = RateLimiter(rate_per_minute=60, burst=1, clock=clock)
    limiter.check("k")
    clock.now += 1.0
    limiter.check("k")


def test_refill_never_exceeds_the_burst() -> None:
    clock = Clock()
    limiter = RateLimiter(rate_per_minute=60, burst=2, clock=clock)
    clock.now += 3600
    limiter.check("k")
    limiter.check("k")
    with pytest.raises(RateLimited):
        limiter.check("k")


def test_keys_have_separate_buckets() -> None:
    limiter = RateLimiter(rate_per_minute=60, burst=1, clock=Clock())
    limiter.check("a")
    limiter.check("b")


def test_retry_after_reflects_the_deficit() -> None:
    limiter = RateLimiter(rate_per_minute=6, burst=1, clock=Clock())
    limiter.check("k")
    with pytest.raises(RateLimited) as exc:
        limiter.check("k")
    assert exc.value.retry_after == 10


def test_full_buckets_are_evicted_when_too_many_keys(monkeypatch: pytest.MonkeyPatch) -> None:
    from abi.security import ratelimit

    monkeypatch.setattr(ratelimit, "MAX_BUCKETS", 3)
    clock = Clock()
    limiter = RateLimiter(rate_per_minute=60, burst=1, clock=clock)
    for key in ("a", "b", "c"):
        limiter.check(key)
    clock.now += 60
    limiter.check("d")
    assert set(limiter._buckets) == {"d"}
