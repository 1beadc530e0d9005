"""A sampling profiler of the whole process: every thread's stack, N times a second.

It reads ``sys._current_frames()`` from a background thread, so it sees the event loop,
the worker threads and any Python code they run, without tracing hooks and with a cost
proportional to the sampling rate only. The result is a text report (hottest functions by
own and total samples) or folded stacks (``a;b;c 12`` lines, the input of flame-graph tools).
"""

from __future__ import annotations

import sys
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from types import FrameType
from typing import Literal

from abi.errors import Conflict, InvalidInput

MAX_SECONDS = 120.0
MAX_DEPTH = 128
Format = Literal["text", "folded"]


@dataclass
class Profile:
    """Samples of one profiling run."""

    seconds: float
    interval: float
    samples: int = 0
    stacks: Counter[tuple[str, ...]] = field(default_factory=Counter)
    threads: Counter[str] = field(default_factory=Counter)

    def folded(self) -> str:
        """One ``frame;frame;... count`` line per distinct stack (root first)."""
        lines = [f"{';'.join(stack)} {n}" for stack, n in self.stacks.most_common()]
        return "\n".join(lines) + ("\n" if lines else "")

    def text(self, top: int = 40) -> str:
        """The hottest functions by own samples and by total (inclusive) samples."""
        own: Counter[str] = Counter()
        total: Counter[str] = Counter()
        for stack, n in self.stacks.items():
            frames = stack[1:]  # the first entry names the thread
            if frames:
                own[frames[-1]] += n
            for frame in set(frames):
                total[frame] += n
        count = max(self.samples, 1)
        out = [
            f"sampling profile: {self.seconds:.1f} s at {1 / self.interval:.0f} Hz, "
            f"{self.samples} stack samples over {len(self.threads)} threads",
            "",
            "threads (samples):",
            *(f"  {n:8d}  {name}" for name, n in self.threads.most_common()),
            "",
            "own time (% of samples, function):",
            *(f"  {100 * n / count:6.2f}%  {name}" for name, n in own.most_common(top)),
            "",
            "total time (% of samples, function):",
            *(f"  {100 * n / count:6.2f}%  {name}" for name, n in total.most_common(top)),
        ]
        return "\n".join(out) + "\n"

    def render(self, fmt: Format) -> str:
        """The profile as folded stacks or as the text report."""
        return self.folded() if fmt == "folded" else self.text()


def _frame_name(frame: FrameType) -> str:
    code = frame.f_code
    return f"{code.co_qualname} ({code.co_filename}:{code.co_firstlineno})"


def _stack(frame: FrameType | None) -> tuple[str, ...]:
    names: list[str] = []
    while frame is not None and len(names) < MAX_DEPTH:
        names.append(_frame_name(frame))
        frame = frame.f_back
    return tuple(reversed(names))


class SamplingProfiler:
    """Runs one profile at a time (a second request while one runs is refused)."""

    def __init__(self) -> None:
        self._busy = threading.Lock()

    @property
    def busy(self) -> bool:
        """True while a profile is being taken."""
        return self._busy.locked()

    def run(self, seconds: float, hz: int = 100) -> Profile:
        """Sample every thread but the sampler's own for ``seconds``; blocks meanwhile."""
        if not 0 < seconds <= MAX_SECONDS:
            raise InvalidInput(
                f"seconds must be in (0, {MAX_SECONDS:g}]; got {seconds:g}",
                code="profile.invalid_seconds",
            )
        if not 1 <= hz <= 1000:
            raise InvalidInput(f"hz must be in [1, 1000]; got {hz}", code="profile.invalid_hz")
        if not self._busy.acquire(blocking=False):
            raise Conflict(
                "a profile is already running; wait for it to finish",
                code="profile.busy",
            )
        try:
            return self._sample(seconds, 1.0 / hz)
        finally:
            self._busy.release()

    @staticmethod
    def _sample(seconds: float, interval: float) -> Profile:
        profile = Profile(seconds=seconds, interval=interval)
        me = threading.get_ident()
        deadline = time.monotonic() + seconds
        next_tick = time.monotonic()
        while (now := time.monotonic()) < deadline:
            names = {t.ident: t.name for t in threading.enumerate()}
            for ident, frame in sys._current_frames().items():
                if ident == me:
                    continue
                thread = names.get(ident, f"thread-{ident}")
                profile.stacks[(f"[{thread}]", *_stack(frame))] += 1
                profile.threads[thread] += 1
                profile.samples += 1
            next_tick = max(next_tick + interval, now)
            time.sleep(max(0.0, next_tick - time.monotonic()))
        return profile
