"""Plugin benchmark at small sizes: `python tests/perf/bench_plugins.py [--json]`.

Prints figures and same-run ratios (warm fast path vs the typed wasmtime-py path, cached vs
cold load, two threads vs one); it never passes or fails on wall time. The full-size run is
`abi bench plugins`.
"""

from __future__ import annotations

import sys

from abi.cli.bench import PLUGINS_TITLE, report
from abi.plugins.benchmark import run_benchmark


def main(argv: list[str]) -> int:
    figures = run_benchmark(calls=5_000, rounds=2, load_repeats=2)
    report(PLUGINS_TITLE, figures, as_json="--json" in argv)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
