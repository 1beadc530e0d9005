"""``abi bench agents``: retrieval-backend query throughput over a 100,000-passage memory and
router decision time with 1,000 agents, in process (see :mod:`abi.agents.benchmark`)."""

from __future__ import annotations

import click

from abi.cli.common import emit_json


@click.command("agents")
@click.option("--json", "as_json", is_flag=True, help="Print the figures as JSON.")
@click.option("--passages", default=100_000, show_default=True, help="Memory size.")
@click.option("--agents", "agent_count", default=1_000, show_default=True, help="Agents routed.")
@click.option("--queries", default=2_000, show_default=True, help="Requests per measurement.")
@click.option("--threads", default=4, show_default=True, help="Concurrent query threads.")
@click.option(
    "--api",
    "api_workers",
    default=0,
    show_default=True,
    help="Also query through the API on this many server workers (needs wrk).",
)
def agents(
    *,
    as_json: bool = False,
    passages: int = 100_000,
    agent_count: int = 1_000,
    queries: int = 2_000,
    threads: int = 4,
    api_workers: int = 0,
) -> None:
    """Agent queries (retrieval backend) and router decisions, with same-run baselines."""
    from abi.agents.benchmark import run_benchmark

    figures = run_benchmark(passages=passages, agents=agent_count, queries=queries, threads=threads)
    if as_json:
        emit_json(figures)
        return
    for section, values in figures.items():
        click.echo(section)
        width = max(len(key) for key in values)
        for key, value in values.items():
            click.echo(f"  {key.ljust(width)}  {value}")
