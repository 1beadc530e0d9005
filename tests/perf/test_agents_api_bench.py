"""The agents-through-the-API benchmark at a small size: real ``abi serve`` workers and wrk
on loopback (wrk comes from tools/system-deps.sh, as for the HTTP suite); asserts that every
request succeeded and the figures are consistent, never wall time."""

from __future__ import annotations

import pytest

from abi.agents.api_benchmark import run_api_benchmark


def test_agent_queries_through_the_api_succeed_and_are_compared_to_health() -> None:
    figures = run_api_benchmark(passages=300, workers=1, connections=2, seconds=1)
    assert figures["query"]["errors"] == 0
    assert figures["health_baseline"]["errors"] == 0
    assert figures["query"]["requests_per_second"] > 0
    expected = (
        figures["query"]["requests_per_second"] / figures["health_baseline"]["requests_per_second"]
    )
    assert figures["query_vs_health"] == pytest.approx(expected, abs=1e-4)
