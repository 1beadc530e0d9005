"""``abi workflow create|list|run|show``: workflows from the command line, on a server
(``--server URL --token T``) or on local data (``--data-dir``, ``--tenant``)."""

from __future__ import annotations

import json
from typing import Any

import click

from abi.cli.agent import format_usage, open_agents, read_document
from abi.cli.common import emit_json, handle_errors
from abi.cli.plugin_registry import target_options
from abi.errors import InvalidInput


@click.group("workflow")
def workflow() -> None:
    """Create and run workflows of agents and plugins."""


@workflow.command("create")
@click.argument("definition")
@target_options
@handle_errors
def create(definition: str, **target: Any) -> None:
    """Create a workflow from a JSON/TOML DEFINITION file (``-``: stdin)."""
    with open_agents(**target) as agents:
        emit_json(agents.call("POST", "/workflows", read_document(definition)))


@workflow.command("list")
@target_options
@handle_errors
def list_workflows(**target: Any) -> None:
    """The tenant's workflows."""
    with open_agents(**target) as agents:
        for item in agents.call("GET", "/workflows")["workflows"]:
            click.echo(f"{item['name']}  v{item['version']}  {len(item['steps'])} step(s)")


@workflow.command("run")
@click.argument("ref")
@click.option("--input", "run_input", default=None, help="The run's input as JSON.")
@click.option("--json", "as_json", is_flag=True, help="Print the whole run as JSON.")
@target_options
@handle_errors
def run(ref: str, run_input: str | None, as_json: bool, **target: Any) -> None:
    """Run workflow REF to its end; prints each step and the output."""
    try:
        parsed = None if run_input is None else json.loads(run_input)
    except ValueError as exc:
        raise InvalidInput(f"--input is not JSON: {exc}") from None
    with open_agents(**target) as agents:
        result = agents.call("POST", f"/workflows/{ref}/runs", {"input": parsed, "wait": True})
    if as_json:
        emit_json(result)
        return
    for step in result["steps"]:
        used = format_usage(step["usage"])
        click.echo(
            f"{step['step_id']:<16} {step['status']:<10} {step['elapsed_ms'] or 0:>9.1f} ms  {used}"
        )
    click.echo(f"run {result['id']} {result['status']} (trace {result['trace_id']})")
    click.echo(
        json.dumps(
            result["output"] if result["status"] == "completed" else result["error"], indent=2
        )
    )
    if result["status"] != "completed":
        raise SystemExit(1)


@workflow.command("show")
@click.argument("run_id")
@target_options
@handle_errors
def show(run_id: str, **target: Any) -> None:
    """A run with every step's input, output, timing, usage and trace ids."""
    with open_agents(**target) as agents:
        emit_json(agents.call("GET", f"/workflow-runs/{run_id}"))
