"""``abi bench http``: the API server against a bare Quart app, side by side, plus WebSocket
memory (see :mod:`abi.server.benchmark`)."""

from __future__ import annotations

import click

from abi.cli.bench import json_option
from abi.cli.common import emit_json, handle_errors


@click.command("http")
@json_option
@click.option("--workers", default=2, show_default=True, help="Hypercorn worker processes.")
@click.option("--connections", default=64, show_default=True, help="wrk connections.")
@click.option("--seconds", default=10.0, show_default=True, help="Seconds per wrk run.")
@click.option("--rounds", default=3, show_default=True, help="Alternating rounds; medians kept.")
@click.option("--websockets", default=10_000, show_default=True, help="Idle sockets to hold.")
@handle_errors
def http(
    *,
    as_json: bool = False,
    workers: int = 2,
    connections: int = 64,
    seconds: float = 10.0,
    rounds: int = 3,
    websockets: int = 10_000,
) -> None:
    """Authenticated GET /api/v1/health vs a bare Quart hello app (wrk on loopback, same
    Hypercorn settings), and the server RSS while holding idle authenticated WebSockets."""
    from abi.server.benchmark import run_http_benchmark

    report = run_http_benchmark(
        workers=workers,
        connections=connections,
        seconds=seconds,
        rounds=rounds,
        websockets=websockets,
    )
    if as_json:
        emit_json(report.to_dict())
        return
    click.echo(f"http ({workers} workers, {connections} connections, medians of {rounds} rounds)")
    for name, result in (("bare", report.bare), ("abi", report.abi)):
        click.echo(
            f"  {name:<5} {result.requests_per_second:>9.0f} req/s  "
            f"mean {result.latency_mean_ms:.2f} ms  p50 {result.latency_p50_ms:.2f} ms  "
            f"p99 {result.latency_p99_ms:.2f} ms  errors {result.errors}"
        )
    quiet = report.abi_no_access_log
    click.echo(
        f"  abi without access log: {quiet.requests_per_second:.0f} req/s, "
        f"mean {quiet.latency_mean_ms:.2f} ms"
    )
    click.echo(
        f"  latency ratio abi/bare {report.latency_ratio} "
        f"(no access log {report.latency_ratio_no_access_log}), "
        f"throughput ratio {report.throughput_ratio}"
    )
    for name, ws in report.websocket.items():
        if isinstance(ws, dict):
            click.echo(
                f"  websockets ({name}): {ws['connections']} idle, server RSS "
                f"{ws['server_rss_before_mib']} -> {ws['server_rss_with_connections_mib']} MiB "
                f"({ws['kib_per_connection']} KiB each)"
            )
    if report.websocket:
        click.echo(f"  websocket memory ratio abi/bare {report.websocket['memory_ratio']}")
