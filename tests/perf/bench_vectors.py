"""WDBX benchmark at small sizes (runs in the suite): `python tests/perf/bench_vectors.py`.

Clustered 6,000 x 64 vectors; WDBX side by side with raw usearch, numpy brute force and the
peers when the `bench` extra is installed; prints figures, never judges wall time. The suite
runs the same size in tests/perf/test_vectors_bench.py (asserting recall); the full-size run
is `abi bench vectors` (100,000 x 384).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

from abi.vectors.benchmark import run_benchmark


def small(out_dir: Path | None) -> dict[str, Any]:
    """The small-size run."""
    return run_benchmark(n=6000, dim=64, queries=200, out_dir=out_dir, recovery=True)


def main(argv: list[str]) -> int:
    figures = small(Path("bench-out/small"))
    figures.pop("curves")
    print(json.dumps(figures, indent=2) if "--json" in argv else figures)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
