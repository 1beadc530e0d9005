"""``abi bench agents``: retrieval-backend query throughput over a 100,000-passage memory and
router decision time with 1,000 agents, in process (see :mod:`abi.agents.benchmark`), and with
``--api N`` agent queries through ``abi serve`` on N workers (:mod:`abi.agents.api_benchmark`)."""

from __future__ import annotations

import click

from abi.cli.bench import json_option, report
from abi.cli.common import emit_json, handle_errors


@click.command("agents")
@json_option
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
@handle_errors
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
    if api_workers:
        from abi.agents.api_benchmark import run_api_benchmark

        figures["api"] = run_api_benchmark(passages=passages, workers=api_workers)
    if as_json:
        emit_json(figures)
        return
    for section, values in figures.items():
        report(section, values, as_json=False)
