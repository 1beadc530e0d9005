"""Entry point of the ``abi`` console script; each command group lives in its own module."""

from __future__ import annotations

import click

from abi import __version__


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="abi")
def cli() -> None:
    """Abi: a multi-tenant WebAssembly plugin platform for AI workloads."""


# Command groups register themselves below, one import per module.
from abi.cli import plugin_registry  # noqa: E402, F401  (publish, install, grant, list, dev...)
from abi.cli.agent import agent  # noqa: E402
from abi.cli.bench import bench  # noqa: E402
from abi.cli.bench_agents import agents as bench_agents  # noqa: E402
from abi.cli.bench_all import bench_all  # noqa: E402
from abi.cli.bench_compute import compute as bench_compute  # noqa: E402
from abi.cli.bench_http import http as bench_http  # noqa: E402
from abi.cli.bench_vectors import vectors as bench_vectors  # noqa: E402
from abi.cli.client import client  # noqa: E402
from abi.cli.db import db  # noqa: E402
from abi.cli.devices import devices  # noqa: E402
from abi.cli.embed import embed  # noqa: E402
from abi.cli.plugin import plugin  # noqa: E402
from abi.cli.plugin_author import build as plugin_build  # noqa: E402
from abi.cli.plugin_author import new as plugin_new  # noqa: E402
from abi.cli.plugin_author import test as plugin_test  # noqa: E402
from abi.cli.serve import serve  # noqa: E402
from abi.cli.tenant import tenant  # noqa: E402
from abi.cli.token import token  # noqa: E402
from abi.cli.workflow import workflow  # noqa: E402

cli.add_command(serve)
cli.add_command(tenant)
cli.add_command(client)
cli.add_command(plugin)
cli.add_command(bench)
bench.add_command(bench_all)
bench.add_command(bench_agents)
bench.add_command(bench_compute)
bench.add_command(bench_http)
bench.add_command(bench_vectors)
plugin.add_command(plugin_new)
plugin.add_command(plugin_build)
plugin.add_command(plugin_test)
cli.add_command(token)
cli.add_command(db)
cli.add_command(devices)
cli.add_command(embed)
cli.add_command(agent)
cli.add_command(workflow)


def main() -> None:
    cli()


if __name__ == "__main__":
    main()
