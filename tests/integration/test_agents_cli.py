"""``abi agent`` and ``abi workflow`` on local data: create, remember, query, route, list,
and a workflow run."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from click.testing import CliRunner, Result

from abi.cli.main import cli
from abi.config import load_settings
from abi.runtime import Platform

AGENT = {
    "name": "notes",
    "persona": {"description": "remembers meeting notes"},
    "capabilities": ["vector_search"],
    "memory": {"collection": "notes"},
    "backend": {"kind": "retrieval", "top_k": 1},
}


def run(data: Path, *args: str) -> Result:
    result = CliRunner().invoke(
        cli, [*args, "--data-dir", str(data), "--tenant", "acme"], env={}, catch_exceptions=False
    )
    return result


def write(tmp_path: Path, name: str, value: Any) -> str:
    path = tmp_path / name
    path.write_text(json.dumps(value))
    return str(path)


def test_agent_commands_on_local_data(tmp_path: Path) -> None:
    data = tmp_path / "data"
    with Platform(load_settings(environ={}, overrides={"data_dir": data})) as platform:
        platform.tenants.create("acme")
    assert run(data, "agent", "create", write(tmp_path, "a.json", AGENT)).exit_code == 0
    passages = [{"text": "the launch moved to friday", "source": "standup"}]
    stored = run(data, "agent", "remember", "notes", write(tmp_path, "p.json", passages))
    assert stored.output.strip() == "stored 1 passage(s)"
    answered = run(data, "agent", "query", "notes", "when is the launch", "--json")
    assert json.loads(answered.output)["sources"][0]["source"] == "standup"
    routed = run(data, "agent", "route", "launch notes", "--capability", "vector_search")
    assert routed.stdout.strip() == "notes"
    listed = run(data, "agent", "list")
    assert listed.output.startswith("notes  v1  retrieval  vector_search")
    refused = run(data, "agent", "route", "x", "--capability", "telepathy")
    assert refused.exit_code == 1
    assert "agents.unknown_capability" in refused.output


def test_workflow_run_prints_steps_and_output(tmp_path: Path) -> None:
    data = tmp_path / "data"
    with Platform(load_settings(environ={}, overrides={"data_dir": data})) as platform:
        tenant = platform.tenants.create("acme").id
        platform.agents.registry.create(tenant, AGENT)
        platform.agents.remember(tenant, "notes", [{"text": "budget approved", "source": "mail"}])
    flow = {
        "name": "lookup",
        "steps": [{"id": "ask", "kind": "agent", "agent": "notes"}],
        "output": "{{ steps.ask.output.sources.0.source }}",
    }
    assert run(data, "workflow", "create", write(tmp_path, "w.json", flow)).exit_code == 0
    result = run(data, "workflow", "run", "lookup", "--input", '{"query": "budget"}')
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert lines[0].startswith("ask") and "completed" in lines[0]
    assert lines[-1] == '"mail"'


def test_agent_commands_against_a_server(live_server: Any, tenant_factory: Any) -> None:
    acme = tenant_factory("acme")
    remote = ["--server", live_server.url, "--token", acme.token()]
    runner = CliRunner()
    definition = json.dumps({**AGENT, "memory": None, "backend": {"kind": "retrieval"}})
    created = runner.invoke(cli, ["agent", "create", "-", *remote], input=definition, env={})
    assert created.exit_code == 0, created.output
    listed = runner.invoke(cli, ["agent", "list", *remote], env={})
    assert listed.output.startswith("notes  v1  retrieval")
    missing = runner.invoke(cli, ["agent", "show", "nobody", *remote], env={})
    assert missing.exit_code == 1 and "agents.not_found" in missing.output
