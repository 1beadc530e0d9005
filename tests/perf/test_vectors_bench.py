"""The WDBX benchmark at small size in the suite: asserts recall and sane figures, never
wall time (figures are printed by tests/perf/bench_vectors.py and `abi bench vectors`)."""

from __future__ import annotations

from pathlib import Path

from abi.vectors.benchmark import run_benchmark


def test_small_benchmark_reaches_recall(tmp_path: Path) -> None:
    figures = run_benchmark(n=4000, dim=48, queries=100, out_dir=tmp_path)
    assert figures["recall_at_10"] >= 0.95
    assert figures["batch_qps"] > 0
    assert figures["filtered_recall_1pct"] >= 0.95
    assert figures["filtered_recall_10pct"] >= 0.95
    assert figures["usearch_raw_qps"] > 0
    assert figures["numpy_exact_qps"] > 0
    assert figures["insert_per_s"] > 0
    assert figures["http_p99_ms"] > 0
    table = (tmp_path / "vectors_qps_recall.md").read_text()
    assert "WDBX hnsw" in table
    assert "WDBX ivf" in table
