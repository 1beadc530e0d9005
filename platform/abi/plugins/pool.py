"""Instance pooling: idle instances of one (tenant, plugin version), reused across calls.

A call borrows an instance (or creates one), and returns it afterwards unless it trapped or
the pool is full or closed. In strict mode (``fresh=True``) every call gets a new instance
that is discarded afterwards.
"""

from __future__ import annotations

import gc
import threading
import time
import weakref
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from abi.plugins.errors import SandboxFull
from abi.plugins.instance import Instance

_POOLS: weakref.WeakSet[InstancePool] = weakref.WeakSet()
COLLECT_INTERVAL_S = 1.0
"""At most one garbage collection per interval on the no-free-slot path: a full collection
holds the GIL for as long as the heap takes to walk, and a flood of refused calls must not
turn into a flood of collections."""
_collect_lock = threading.Lock()
_last_collect = float("-inf")


def release_idle_everywhere() -> int:
    """Close every idle instance of every pool (frees instance slots); returns how many.
    When none is idle, collect garbage (at most once per ``COLLECT_INTERVAL_S``): instances
    of plugins nobody holds any more free their slots when collected."""
    released = sum(pool.drop_idle() for pool in list(_POOLS))
    if released == 0 and _collect_due():
        released = gc.collect()
    return released


def _collect_due() -> bool:
    global _last_collect  # noqa: PLW0603 - one clock for the process, like the pools
    with _collect_lock:
        now = time.monotonic()
        if now - _last_collect < COLLECT_INTERVAL_S:
            return False
        _last_collect = now
        return True


class InstancePool:
    """Thread-safe pool of idle instances made by ``factory``."""

    def __init__(self, factory: Callable[[], Instance], size: int, *, fresh: bool = False) -> None:
        self.factory = factory
        self.size = size
        self.fresh = fresh
        self._idle: list[Instance] = []
        self._lock = threading.Lock()
        self._closed = False
        self.created = 0
        self.retired = 0
        _POOLS.add(self)

    @contextmanager
    def instance(self) -> Iterator[Instance]:
        """Borrow an instance for one call."""
        inst = self.take()
        try:
            yield inst
        finally:
            self.give_back(inst)

    def take(self) -> Instance:
        """Borrow an instance; pair with :meth:`give_back`."""
        if not self.fresh:
            with self._lock:
                if self._idle:
                    return self._idle.pop()
        try:
            inst = self.factory()
        except SandboxFull:
            if not release_idle_everywhere():
                raise
            inst = self.factory()
        with self._lock:
            self.created += 1
        return inst

    def give_back(self, inst: Instance) -> None:
        """Return an instance after a call: kept idle when reusable and there is room, else
        closed."""
        with self._lock:
            keep = not (self.fresh or inst.retired or self._closed) and len(self._idle) < self.size
            if keep:
                self._idle.append(inst)
                return
            if inst.retired:
                self.retired += 1
        inst.close()

    @property
    def idle(self) -> int:
        """Instances waiting for a call."""
        return len(self._idle)

    def drop_idle(self) -> int:
        """Close the idle instances; returns how many."""
        with self._lock:
            idle, self._idle = self._idle, []
        for inst in idle:
            inst.close()
        return len(idle)

    def close(self) -> None:
        """Drop idle instances; borrowed ones are closed when given back."""
        with self._lock:
            self._closed = True
        self.drop_idle()
