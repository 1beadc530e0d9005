"""Multi-node pieces when Redis is unreachable: events still reach this node's subscribers
and rate limits still hold on this node; both count the fallback."""

from __future__ import annotations

import asyncio
import socket

import pytest

from abi.cluster.events import RedisEventBus
from abi.cluster.ratelimit import RedisRateLimiter
from abi.errors import RateLimited


def _closed_port_url() -> str:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"redis://127.0.0.1:{port}/0"


def test_events_fall_back_to_this_node_when_redis_is_down() -> None:
    bus = RedisEventBus(_closed_port_url())

    async def main() -> str:
        sub = bus.subscribe("t1", ("demo.*",))
        bus.publish("t1", "demo.x", {"n": 1})
        event = await asyncio.wait_for(sub.get(), 5)
        assert event is not None
        return event.topic

    assert asyncio.run(main()) == "demo.x"
    assert bus.local_fallbacks == 1


def test_rate_limits_fall_back_to_this_node_when_redis_is_down() -> None:
    limiter = RedisRateLimiter(_closed_port_url(), rate_per_minute=60, burst=2)
    limiter.check("t1/c1")
    limiter.check("t1/c1")
    with pytest.raises(RateLimited):
        limiter.check("t1/c1")
    assert limiter.fallbacks == 3


def test_the_event_listener_reports_an_unreachable_redis() -> None:
    bus = RedisEventBus(_closed_port_url())
    with pytest.raises(ConnectionError):
        bus.start(timeout=1.0)
    bus.stop()
