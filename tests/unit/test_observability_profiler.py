"""The sampling profiler sees other threads' hot functions and runs one profile at a time."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator

import pytest

from abi.errors import Conflict, InvalidInput
from abi.observability.profiler import SamplingProfiler


def busy_loop_for_profiler_test(stop: threading.Event) -> None:
    total = 0
    while not stop.is_set():
        total += sum(range(200))


@pytest.fixture
def busy_thread() -> Iterator[threading.Thread]:
    stop = threading.Event()
    thread = threading.Thread(
        target=busy_loop_for_profiler_test, args=(stop,), name="busy-worker", daemon=True
    )
    thread.start()
    yield thread
    stop.set()
    thread.join()


def test_text_report_names_the_hot_function(busy_thread: threading.Thread) -> None:
    profile = SamplingProfiler().run(0.3, hz=200)
    report = profile.text()
    assert profile.samples > 0
    assert "busy_loop_for_profiler_test" in report
    assert "busy-worker" in report


def test_folded_stacks_start_with_the_thread(busy_thread: threading.Thread) -> None:
    folded = SamplingProfiler().run(0.3, hz=200).folded()
    lines = [line for line in folded.splitlines() if "busy_loop_for_profiler_test" in line]
    assert lines
    assert all(line.startswith("[busy-worker];") for line in lines)
    assert all(int(line.rsplit(" ", 1)[1]) >= 1 for line in lines)


@pytest.mark.parametrize(("seconds", "hz"), [(0, 100), (1000, 100), (1, 0), (1, 5000)])
def test_out_of_range_arguments_are_refused(seconds: float, hz: int) -> None:
    with pytest.raises(InvalidInput):
        SamplingProfiler().run(seconds, hz=hz)


def test_a_second_profile_while_one_runs_is_refused() -> None:
    profiler = SamplingProfiler()
    first = threading.Thread(target=profiler.run, args=(2.0,))
    first.start()
    deadline = time.monotonic() + 10
    while not profiler.busy and time.monotonic() < deadline:
        time.sleep(0.005)
    try:
        with pytest.raises(Conflict):
            profiler.run(0.1)
    finally:
        first.join()
