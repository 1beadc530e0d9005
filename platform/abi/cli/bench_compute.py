"""``abi bench compute``: OpenCL kernels against numpy on the same data in one run."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from abi.cli.bench import json_option, report
from abi.cli.common import handle_errors

COMPUTE_TITLE = "compute (medians of alternating rounds; same data for both sides)"


@click.command("compute")
@json_option
@click.option("--queries", default=1000, show_default=True, help="kNN / distance queries.")
@click.option("--vectors", default=100_000, show_default=True, help="Database vectors.")
@click.option("--dim", default=384, show_default=True, help="Dimension.")
@click.option("--k", default=10, show_default=True, help="Neighbours per query.")
@click.option("--gemm-size", default=1024, show_default=True, help="Square GEMM size.")
@click.option("--rounds", default=3, show_default=True, help="Alternating rounds (medians).")
@click.option(
    "--embed-sentences",
    default=256,
    show_default=True,
    help="Sentences for the embedding throughput (0 skips it).",
)
@click.option(
    "--cache-dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="Kernel and calibration cache (default: ~/.cache/abi/compute).",
)
@handle_errors
def compute(*, as_json: bool = False, **options: Any) -> None:
    """Exact kNN, distances and GEMM on the first OpenCL device vs numpy, and embedding
    throughput (MiniLM at batch 32, against sentence-transformers when installed)."""
    from abi.compute.benchmark import run_benchmark

    figures = run_benchmark(**options)  # the options are run_benchmark's keyword arguments
    report(COMPUTE_TITLE, figures, as_json=as_json, float_format=".4g")
