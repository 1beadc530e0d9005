"""The ``cluster`` component: connects a node to Redis when ``store.redis_url`` is set."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from abi.config import Settings
from abi.errors import ConfigError

if TYPE_CHECKING:
    from abi.cluster.events import RedisEventBus
    from abi.cluster.ratelimit import RedisRateLimiter


class Cluster:
    """Builds the Redis event bus and rate limiter (or nothing, on a single node)."""

    name = "cluster"

    def __init__(self, settings: Settings) -> None:
        self.url = settings.store.redis_url
        self.events: RedisEventBus | None = None
        self.limiter: RedisRateLimiter | None = None
        if self.url:
            try:
                from abi.cluster.events import RedisEventBus
                from abi.cluster.ratelimit import RedisRateLimiter
            except ImportError as exc:
                raise ConfigError(
                    "store.redis_url is set but the Redis client is not installed; "
                    "pip install 'abi[redis]' or unset it",
                    key="store.redis_url",
                ) from exc
            server = settings.server
            self.events = RedisEventBus(self.url)
            self.limiter = RedisRateLimiter(
                self.url, server.rate_limit_per_minute, server.rate_limit_burst
            )

    def start(self) -> None:
        if self.events is not None:
            self.events.start()

    def stop(self) -> None:
        if self.events is not None:
            self.events.stop()

    def health(self) -> dict[str, Any]:
        if self.events is None:
            return {"ok": True, "mode": "single-node"}
        # Ready even while Redis is away: events and limits fall back to this node, and taking
        # every replica out of service for a degraded dependency would be an outage.
        return {
            "ok": True,
            "mode": "redis",
            "redis_connected": self.events.listening,
            "events_sent": self.events.sent,
            "events_received": self.events.received,
            "event_fallbacks": self.events.local_fallbacks,
            "rate_limit_fallbacks": self.limiter.fallbacks if self.limiter else 0,
        }
