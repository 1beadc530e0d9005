"""``abi bench compute``: OpenCL kernels against numpy on the same data in one run."""

from __future__ import annotations

from pathlib import Path

import click

from abi.cli.common import emit_json, handle_errors


@click.command("compute")
@click.option("--json", "as_json", is_flag=True, help="Print the figures as JSON.")
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
def compute(
    *,
    as_json: bool = False,
    queries: int = 1000,
    vectors: int = 100_000,
    dim: int = 384,
    k: int = 10,
    gemm_size: int = 1024,
    rounds: int = 3,
    embed_sentences: int = 256,
    cache_dir: Path | None = None,
) -> None:
    """Exact kNN, distances and GEMM on the first OpenCL device vs numpy, and embedding
    throughput (MiniLM at batch 32, against sentence-transformers when installed)."""
    from abi.compute.benchmark import run_benchmark

    figures = run_benchmark(
        queries=queries,
        vectors=vectors,
        dim=dim,
        k=k,
        gemm_size=gemm_size,
        rounds=rounds,
        embed_sentences=embed_sentences,
        cache_dir=cache_dir,
    )
    if as_json:
        emit_json(figures)
        return
    click.echo("compute (medians of alternating rounds; same data for both sides)")
    width = max(len(key) for key in figures)
    for key, value in figures.items():
        shown = f"{value:.4g}" if isinstance(value, float) else value
        click.echo(f"  {key.ljust(width)}  {shown}")
