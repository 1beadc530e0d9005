"""Rate limits shared by every node: a GCRA token bucket per key, kept in Redis.

Same contract as :class:`abi.security.ratelimit.RateLimiter`: ``rate_per_minute``
sustained, ``burst`` at once, ``check(key, cost)`` raises RateLimited with ``retry_after``.
One Lua script does the read-modify-write atomically with Redis's own clock, so nodes with
skewed clocks still share one budget. If Redis is unreachable the node falls back to its
own in-process limiter (limits then hold per node) and counts the fallback.
"""

from __future__ import annotations

import logging
import math

import redis

from abi.errors import RateLimited
from abi.security.ratelimit import RateLimiter

log = logging.getLogger("abi.cluster")

KEY_PREFIX = "abi:ratelimit:"

# KEYS[1]: the bucket; ARGV: emission interval (us per token), burst tolerance (us), cost.
# Stores the theoretical arrival time (TAT) in microseconds of Redis's clock.
_GCRA = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local interval = tonumber(ARGV[1])
local tolerance = tonumber(ARGV[2])
local cost = tonumber(ARGV[3])
local tat = tonumber(redis.call('GET', KEYS[1]) or now)
if tat < now then tat = now end
local new_tat = tat + interval * cost
local allow_at = new_tat - tolerance
if now < allow_at then
  return allow_at - now
end
local ttl_ms = math.ceil((new_tat - now) / 1000) + 1
redis.call('SET', KEYS[1], string.format('%d', new_tat), 'PX', ttl_ms)
return 0
"""


class RedisRateLimiter(RateLimiter):
    """A rate limiter whose buckets live in Redis (one budget across all nodes); the
    in-process buckets it inherits are the fallback while Redis is unreachable."""

    def __init__(
        self,
        url: str,
        rate_per_minute: int,
        burst: int,
        *,
        client: redis.Redis | None = None,
    ) -> None:
        super().__init__(rate_per_minute, burst)
        self._redis = client or redis.Redis.from_url(url, socket_timeout=2)
        self._script = self._redis.register_script(_GCRA)
        self.interval_us = 60_000_000 / rate_per_minute
        self.tolerance_us = self.interval_us * burst
        self.fallbacks = 0

    def check(self, key: str, cost: float = 1.0) -> None:
        """Take ``cost`` tokens from ``key``'s shared bucket or raise RateLimited."""
        try:
            wait_us = int(self._script(keys=[KEY_PREFIX + key], args=self._args(cost)))
        except redis.RedisError as exc:
            self.fallbacks += 1
            log.warning("redis rate limit check failed (%s); using this node's limiter", exc)
            super().check(key, cost)
            return
        if wait_us > 0:
            wait = math.ceil(wait_us / 1_000_000)
            raise RateLimited(f"rate limit exceeded; retry in {wait} s", retry_after=wait)

    def _args(self, cost: float) -> list[float]:
        return [self.interval_us, self.tolerance_us, cost]
