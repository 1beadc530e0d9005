"""Agents benchmark at small sizes: `python tests/perf/bench_agents.py [--json]`.

Retrieval-backend query throughput over a 5,000-passage memory and router decision time
with 200 agents, each against its same-run baselines (the embedding and the WDBX search
alone); it prints figures and never passes or fails on wall time. The full-size run is
`abi bench agents` (100,000 passages, 1,000 agents).
"""

from __future__ import annotations

import json
import sys

from abi.agents.benchmark import run_benchmark


def main(argv: list[str]) -> int:
    figures = run_benchmark(passages=5_000, agents=200, queries=300, threads=2)
    if "--json" in argv:
        print(json.dumps(figures, indent=2, sort_keys=True))
    else:
        for section, values in figures.items():
            for key, value in values.items():
                print(f"{section}.{key:32} {value}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
