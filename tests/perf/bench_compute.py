"""Compute benchmark at small sizes: `python tests/perf/bench_compute.py [--json]`.

kNN (200 x 20,000 x 384, k=10), distances and GEMM 512^3 on the first OpenCL device against
numpy on the same data, alternated in one run, plus embedding throughput; it prints figures
and ratios and never passes or fails on wall time. The full-size run is `abi bench compute`
(1,000 x 100,000 x 384 kNN, GEMM 1024^3).
"""

from __future__ import annotations

import sys

from abi.cli.bench import report
from abi.cli.bench_compute import COMPUTE_TITLE
from abi.compute.benchmark import run_benchmark


def main(argv: list[str]) -> int:
    figures = run_benchmark(
        queries=200, vectors=20_000, dim=384, gemm_size=512, rounds=3, embed_sentences=64
    )
    report(COMPUTE_TITLE, figures, as_json="--json" in argv, float_format=".4g")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
