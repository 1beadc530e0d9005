"""Tenant events: an in-process publish/subscribe bus.

Subsystems publish events (plugin output chunks, agent steps, workflow progress) on a
tenant's topics; subscribers (WebSocket clients, agents, workflows) receive the events of
their own tenant only. Each subscription has a bounded queue: a subscriber that falls behind
is closed (``overflowed``) instead of growing memory without bound. A multi-node deployment
swaps in an implementation of :class:`EventBus` backed by Redis.
"""

from __future__ import annotations

import asyncio
import fnmatch
import threading
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any, Protocol


@dataclass(frozen=True)
class Event:
    tenant_id: str
    topic: str
    data: dict[str, Any]
    ts: float = field(default_factory=time.time)


class Subscription:
    """A bounded queue of one subscriber's events; iterate it with ``async for``."""

    def __init__(
        self,
        bus: LocalEventBus,
        tenant_id: str,
        patterns: tuple[str, ...],
        limit: int,
        loop: asyncio.AbstractEventLoop,
    ) -> None:
        self.tenant_id = tenant_id
        self.patterns = patterns
        self.overflowed = False
        self.closed = False
        self._bus = bus
        self._queue: asyncio.Queue[Event | None] = asyncio.Queue(maxsize=limit)
        self._loop = loop

    def matches(self, event: Event) -> bool:
        return event.tenant_id == self.tenant_id and any(
            fnmatch.fnmatchcase(event.topic, pattern) for pattern in self.patterns
        )

    def _offer(self, event: Event | None) -> None:
        if self.closed:
            return
        try:
            self._queue.put_nowait(event)
        except asyncio.QueueFull:
            self.overflowed = True
            self.close()

    def deliver(self, event: Event) -> None:
        """Thread-safe: queue ``event`` on the subscriber's event loop."""
        self._loop.call_soon_threadsafe(self._offer, event)

    async def get(self) -> Event | None:
        """The next event, or None once the subscription is closed."""
        if self.closed and self._queue.empty():
            return None
        return await self._queue.get()

    def close(self) -> None:
        if self.closed:
            return
        self.closed = True
        self._bus._remove(self)
        while not self._queue.empty():
            self._queue.get_nowait()
        self._queue.put_nowait(None)

    async def __aiter__(self) -> AsyncIterator[Event]:
        while (event := await self.get()) is not None:
            yield event


class EventBus(Protocol):
    """What publishers and subscribers rely on; local and Redis implementations fill it."""

    def publish(self, tenant_id: str, topic: str, data: dict[str, Any]) -> None: ...

    def subscribe(
        self, tenant_id: str, patterns: tuple[str, ...], limit: int = 256
    ) -> Subscription: ...


class LocalEventBus:
    """The single-process bus. ``publish`` may be called from any thread; ``subscribe`` must
    be called from inside a running event loop."""

    def __init__(self) -> None:
        self._subs: list[Subscription] = []
        self._lock = threading.Lock()

    def publish(self, tenant_id: str, topic: str, data: dict[str, Any]) -> None:
        event = Event(tenant_id, topic, data)
        with self._lock:
            targets = [sub for sub in self._subs if sub.matches(event)]
        for sub in targets:
            sub.deliver(event)

    def subscribe(
        self, tenant_id: str, patterns: tuple[str, ...], limit: int = 256
    ) -> Subscription:
        sub = Subscription(self, tenant_id, patterns, limit, asyncio.get_running_loop())
        with self._lock:
            self._subs.append(sub)
        return sub

    def _remove(self, sub: Subscription) -> None:
        with self._lock:
            if sub in self._subs:
                self._subs.remove(sub)

    @property
    def subscribers(self) -> int:
        with self._lock:
            return len(self._subs)
