"""A Redis-backed EventBus: events published on any node reach subscribers on every node.

``publish`` sends the event to the Redis channel ``abi:events:<tenant_id>``; one listener
thread per node receives every tenant's channel and hands each event to the node's local
bus, which delivers it to the matching subscriptions (same tenant, topic patterns, bounded
queues). Subscribers therefore see events in the order Redis delivered them, from all nodes
alike. When Redis cannot be reached the event is delivered locally only and the failure is
counted (``local_fallbacks``): events are best-effort, like the in-process bus.
"""

from __future__ import annotations

import json
import logging
import threading
from typing import Any

import redis

from abi.events import LocalEventBus

log = logging.getLogger("abi.cluster")

CHANNEL_PREFIX = "abi:events:"


class RedisEventBus(LocalEventBus):
    """Cross-node pub/sub on Redis; subscriptions are the local bus's (this node's clients)."""

    def __init__(self, url: str, *, client: redis.Redis | None = None) -> None:
        super().__init__()
        self.url = url
        self._redis = client or redis.Redis.from_url(
            url, socket_timeout=5, health_check_interval=30
        )
        self._stop = threading.Event()
        self._ready = threading.Event()
        self._thread: threading.Thread | None = None
        self.sent = 0
        self.received = 0
        self.local_fallbacks = 0

    # -- lifecycle -------------------------------------------------------------------------

    def start(self, timeout: float = 10.0) -> None:
        """Start the listener thread and wait until it is subscribed."""
        if self._thread is not None:
            return
        self._stop.clear()
        self._ready.clear()
        self._thread = threading.Thread(target=self._listen, name="abi-redis-events", daemon=True)
        self._thread.start()
        if not self._ready.wait(timeout):
            self.stop()
            raise ConnectionError(f"could not subscribe to Redis at {self.url} in {timeout:g} s")

    def stop(self) -> None:
        """Stop listening and wait (10 s at most) for the listener thread."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=10)
            self._thread = None

    @property
    def listening(self) -> bool:
        """Whether the listener thread is alive and subscribed."""
        return self._thread is not None and self._thread.is_alive() and self._ready.is_set()

    def _listen(self) -> None:
        while not self._stop.is_set():
            pubsub = self._redis.pubsub(ignore_subscribe_messages=True)  # type: ignore[no-untyped-call]
            try:
                pubsub.psubscribe(f"{CHANNEL_PREFIX}*")
                self._ready.set()
                while not self._stop.is_set():
                    message = pubsub.get_message(timeout=0.5)
                    if message is not None:
                        self._deliver(message)
            except redis.RedisError as exc:
                self._ready.clear()
                log.warning("redis event listener lost its connection (%s); reconnecting", exc)
                self._stop.wait(1.0)
            finally:
                pubsub.close()

    def _deliver(self, message: dict[str, Any]) -> None:
        try:
            channel = message["channel"].decode()
            event = json.loads(message["data"])
            tenant_id = channel.removeprefix(CHANNEL_PREFIX)
            self.received += 1
            super().publish(tenant_id, event["topic"], event["data"])
        except (KeyError, ValueError, UnicodeDecodeError):
            log.warning("ignored a malformed event on %r", message.get("channel"))

    # -- EventBus --------------------------------------------------------------------------

    def publish(self, tenant_id: str, topic: str, data: dict[str, Any]) -> None:
        """Send to every node (this one included, through Redis); thread-safe."""
        payload = json.dumps({"topic": topic, "data": data}, separators=(",", ":"), default=str)
        self.sent += 1
        try:
            self._redis.publish(f"{CHANNEL_PREFIX}{tenant_id}", payload)
        except redis.RedisError as exc:
            self.local_fallbacks += 1
            log.warning("redis publish failed (%s); delivering on this node only", exc)
            super().publish(tenant_id, topic, data)
