"""`abi devices` and `abi bench compute` through the real CLI."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from abi.cli.main import cli
from helpers.opencl import NO_OPENCL, opencl_missing

needs_opencl = pytest.mark.skipif(opencl_missing(), reason=NO_OPENCL)


@needs_opencl
def test_devices_json_lists_platforms_with_device_properties() -> None:
    result = CliRunner().invoke(cli, ["devices", "--json"])
    assert result.exit_code == 0, result.output
    platforms = json.loads(result.output)["platforms"]
    device = platforms[0]["devices"][0]
    assert device["id"] == "0:0"
    assert device["compute_units"] >= 1
    assert device["type"] in {"cpu", "gpu", "accelerator", "other"}


@needs_opencl
def test_devices_text_names_each_device() -> None:
    result = CliRunner().invoke(cli, ["devices"])
    assert result.exit_code == 0
    assert "[0:0]" in result.output and "compute units" in result.output


@needs_opencl
def test_bench_compute_json_has_the_contract_keys() -> None:
    args = [
        "bench",
        "compute",
        "--json",
        "--queries",
        "9",
        "--vectors",
        "300",
        "--dim",
        "20",
        "--gemm-size",
        "33",
        "--rounds",
        "1",
        "--embed-sentences",
        "0",
    ]
    result = CliRunner().invoke(cli, args)
    assert result.exit_code == 0, result.output
    figures = json.loads(result.output)
    for key in (
        "knn_opencl_s",
        "knn_numpy_s",
        "distances_opencl_s",
        "distances_numpy_s",
        "gemm_gflops_opencl",
        "gemm_gflops_numpy",
        "device",
    ):
        assert key in figures
    assert figures["knn_shape"] == "9x300x20 k=10 l2"
    assert figures["knn_opencl_s"] > 0 and figures["gemm_gflops_numpy"] > 0


def test_embed_prints_unit_vectors_as_json(tmp_path: Path) -> None:
    result = CliRunner().invoke(cli, ["embed", "--data-dir", str(tmp_path), "first text", "second"])
    assert result.exit_code == 0, result.output
    body = json.loads(result.output)
    assert body["model"] == "hashing-384" and body["dim"] == 384
    norms = [sum(v * v for v in row) ** 0.5 for row in body["vectors"]]
    assert len(norms) == 2 and all(abs(n - 1.0) < 1e-4 for n in norms)


def test_embed_without_texts_is_a_usage_error(tmp_path: Path) -> None:
    result = CliRunner().invoke(cli, ["embed", "--data-dir", str(tmp_path)])
    assert result.exit_code == 2
    assert "at least one text" in result.output
