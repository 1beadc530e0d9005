"""A circuit breaker: stop sending work to a replica that keeps failing, probe it later.

States: ``closed`` (calls flow; consecutive failures are counted), ``open`` (calls are
refused until ``reset_seconds`` have passed since it opened), ``half_open`` (a limited number
of probe calls go through: a success closes the circuit, a failure opens it again).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Literal

State = Literal["closed", "open", "half_open"]


class CircuitBreaker:
    """Consecutive-failure circuit breaker with a half-open probe; thread-safe."""

    def __init__(
        self,
        failure_threshold: int = 5,
        reset_seconds: float = 30.0,
        half_open_probes: int = 1,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if failure_threshold < 1 or half_open_probes < 1 or reset_seconds < 0:
            raise ValueError("threshold and probes must be >= 1, reset_seconds >= 0")
        self.failure_threshold = failure_threshold
        self.reset_seconds = reset_seconds
        self.half_open_probes = half_open_probes
        self._clock = clock
        self._lock = threading.Lock()
        self._state: State = "closed"
        self._failures = 0
        self._opened_at = 0.0
        self._probes = 0
        self.opened_count = 0

    @property
    def state(self) -> State:
        with self._lock:
            return self._current()

    def _current(self) -> State:
        if self._state == "open" and self._clock() - self._opened_at >= self.reset_seconds:
            self._state = "half_open"
            self._probes = 0
        return self._state

    def available(self) -> bool:
        """Whether a call may be sent now (without reserving a probe)."""
        with self._lock:
            state = self._current()
            return state == "closed" or (
                state == "half_open" and self._probes < self.half_open_probes
            )

    def acquire(self) -> bool:
        """Reserve the right to send one call; False when the circuit refuses it."""
        with self._lock:
            state = self._current()
            if state == "closed":
                return True
            if state == "half_open" and self._probes < self.half_open_probes:
                self._probes += 1
                return True
            return False

    def release_probe(self) -> None:
        """Give back a half-open probe whose call ended without a verdict."""
        with self._lock:
            if self._state == "half_open" and self._probes > 0:
                self._probes -= 1

    def record_success(self) -> None:
        with self._lock:
            self._failures = 0
            self._state = "closed"
            self._probes = 0

    def record_failure(self) -> None:
        with self._lock:
            state = self._current()
            self._failures += 1
            if state == "half_open" or self._failures >= self.failure_threshold:
                self._state = "open"
                self._opened_at = self._clock()
                self._probes = 0
                self.opened_count += 1
