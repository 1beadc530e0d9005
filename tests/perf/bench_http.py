"""HTTP benchmark at small sizes: `python tests/perf/bench_http.py [--json]`.

Authenticated GET /api/v1/health on `abi serve` settings (2 uvloop workers) against a bare
Quart hello app on the same Hypercorn settings, alternated in one run with wrk on loopback,
plus idle authenticated WebSocket connections (500 here); it prints figures and ratios and
never passes or fails on wall time. The full-size run is `abi bench http` (10,000 sockets).
"""

from __future__ import annotations

import json
import sys

from abi.server.benchmark import run_http_benchmark


def main(argv: list[str]) -> int:
    report = run_http_benchmark(seconds=2, rounds=2, websockets=500)
    if "--json" in argv:
        print(json.dumps(report.to_dict(), indent=2, sort_keys=True))
    else:
        for key, value in report.to_dict().items():
            print(f"{key:28} {value}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
