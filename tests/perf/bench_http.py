"""HTTP benchmark at small sizes: `python tests/perf/bench_http.py [--json]`.

Authenticated GET /api/v1/health on `abi serve` settings (2 uvloop workers) against a bare
Quart hello app on the same Hypercorn settings, alternated in one run with wrk on loopback,
plus idle authenticated WebSocket connections (500 here); it prints figures and ratios and
never passes or fails on wall time. The full-size run is `abi bench http` (10,000 sockets).
"""

from __future__ import annotations

import sys

from abi.cli.bench import report
from abi.server.benchmark import run_http_benchmark

TITLE = "http (small sizes: 2 s per wrk run, 2 rounds, 500 idle WebSockets)"


def main(argv: list[str]) -> int:
    figures = run_http_benchmark(seconds=2, rounds=2, websockets=500).to_dict()
    report(TITLE, figures, as_json="--json" in argv)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
