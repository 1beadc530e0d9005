"""``abi bench``: benchmarks that print figures with their same-run baselines.

Each suite is a subcommand; other modules add theirs with ``bench.add_command(...)``.
"""

from __future__ import annotations

from typing import Any

import click

from abi.cli.common import emit_json


@click.group("bench", invoke_without_command=True)
@click.pass_context
def bench(ctx: click.Context) -> None:
    """Run benchmarks (all suites when no subcommand is given)."""
    if ctx.invoked_subcommand is not None:
        return
    if "all" in bench.commands:  # the suite runner: one table, one report
        ctx.invoke(bench.commands["all"])
        return
    for name, command in sorted(bench.commands.items()):
        click.echo(f"== {name}")
        ctx.invoke(command)


json_option = click.option("--json", "as_json", is_flag=True, help="Print the figures as JSON.")
"""The ``--json`` flag of a suite's command: pass its ``as_json`` on to :func:`report`."""


def report(title: str, figures: dict[str, Any], *, as_json: bool, float_format: str = "") -> None:
    """Print benchmark figures: JSON, or ``title`` over an aligned key/value table (floats
    shown with ``float_format``, e.g. ``".4g"``; as ``str`` by default)."""
    if as_json:
        emit_json(figures)
        return
    click.echo(title)
    width = max(len(key) for key in figures)
    for key, value in figures.items():
        shown = format(value, float_format) if isinstance(value, float) else value
        click.echo(f"  {key.ljust(width)}  {shown}")


PLUGINS_TITLE = "plugins (100-byte echo; medians of alternating rounds)"


@bench.command("plugins")
@json_option
@click.option("--calls", default=20_000, show_default=True, help="Calls per round (tiny plugin).")
@click.option("--rounds", default=3, show_default=True, help="Alternating rounds; medians kept.")
def plugins(as_json: bool = False, calls: int = 20_000, rounds: int = 3) -> None:
    """Plugin call throughput (warm, naive typed path, fresh instance, two threads) and
    module load time (cold compile vs compile cache)."""
    from abi.plugins.benchmark import run_benchmark

    figures = run_benchmark(calls=calls, rounds=rounds)
    report(PLUGINS_TITLE, figures, as_json=as_json)
