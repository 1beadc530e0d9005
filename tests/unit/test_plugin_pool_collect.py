"""The no-free-slot path collects garbage at most once per interval: a flood of refused
calls does not turn into a flood of full collections."""

from __future__ import annotations

import gc
from collections.abc import Iterator
from typing import Any

import pytest

from abi.plugins import pool


@pytest.fixture
def collections() -> Iterator[list[int]]:
    """The generations of the collections that start while the test runs (automatic
    collections off meanwhile, so that only explicit ones are counted)."""
    seen: list[int] = []

    def count(phase: str, info: dict[str, Any]) -> None:
        if phase == "start":
            seen.append(info["generation"])

    automatic = gc.isenabled()
    gc.disable()
    gc.callbacks.append(count)
    try:
        yield seen
    finally:
        gc.callbacks.remove(count)
        if automatic:
            gc.enable()


def test_back_to_back_calls_collect_once(
    collections: list[int], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(pool, "_last_collect", float("-inf"))
    pool.release_idle_everywhere()
    pool.release_idle_everywhere()
    assert collections.count(2) == 1


def test_a_call_after_the_interval_collects_again(
    collections: list[int], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(pool, "COLLECT_INTERVAL_S", 0.0)
    pool.release_idle_everywhere()
    pool.release_idle_everywhere()
    assert collections.count(2) == 2
