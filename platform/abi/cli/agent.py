"""``abi agent create|list|show|delete|remember|query|route``: agents from the command line,
on a server (``--server URL --token T``) or on local data (``--data-dir``, ``--tenant``).

Definitions and passages are read from JSON or TOML files (``-`` for JSON on stdin).
"""

from __future__ import annotations

import json
import sys
import tomllib
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import click
import httpx

from abi.cli.common import emit_json, handle_errors, open_platform
from abi.cli.plugin_registry import remote_call, target_options
from abi.errors import InvalidInput
from abi.runtime import Platform


def read_document(path: str) -> Any:
    """A JSON (or ``.toml``) document from ``path``; ``-`` reads JSON from stdin."""
    try:
        if path == "-":
            return json.loads(sys.stdin.read())
        text = Path(path).read_text(encoding="utf-8")
        return tomllib.loads(text) if path.endswith(".toml") else json.loads(text)
    except FileNotFoundError:
        raise InvalidInput(f"file {path} does not exist") from None
    except (ValueError, tomllib.TOMLDecodeError) as exc:
        raise InvalidInput(f"{path} is not valid JSON/TOML: {exc}") from None


def format_usage(usage: dict[str, Any]) -> str:
    """The non-zero usage counters as ``name=value, ...`` (empty when none)."""
    return ", ".join(f"{k}={v}" for k, v in usage.items() if v)


class RemoteAgents:
    """The agents and workflows routes of a server, as one tenant's client."""

    def __init__(self, url: str, token: str) -> None:
        self.http = httpx.Client(
            base_url=url.rstrip("/") + "/api/v1",
            headers={"Authorization": f"Bearer {token}"},
            timeout=600,
        )

    def call(self, method: str, path: str, body: Any = None) -> Any:
        return remote_call(self.http, method, path, json=body)


class LocalAgents:
    """The same operations on a local platform, as one tenant."""

    def __init__(self, platform: Platform, tenant: str) -> None:
        self.platform = platform
        self.tenant_id = tenant if tenant.startswith("t_") else platform.tenants.by_name(tenant).id

    def call(self, method: str, path: str, body: Any = None) -> Any:
        """Serve the REST paths the commands use, in process."""
        agents, tenant = self.platform.agents, self.tenant_id
        parts = path.strip("/").split("/")
        body = body or {}
        match method, parts:
            case "POST", ["agents"]:
                return agents.registry.create(tenant, body).to_dict()
            case "GET", ["agents"]:
                return {"agents": [a.to_dict() for a in agents.registry.list(tenant)]}
            case "GET", ["agents", ref]:
                return agents.registry.get(tenant, ref).to_dict()
            case "DELETE", ["agents", ref]:
                return agents.registry.delete(tenant, ref)
            case "POST", ["agents", ref, "memory"]:
                ids = agents.remember(tenant, ref, body["passages"])
                return {"ids": ids, "count": len(ids)}
            case "POST", ["agents", ref, "query"]:
                text = body.pop("query", "")
                return agents.query(tenant, ref, text, **body)
            case "POST", ["route"]:
                return agents.route(tenant, body["query"], body["capabilities"]).to_dict()
            case "POST", ["workflows"]:
                return agents.workflows.create(tenant, body).to_dict()
            case "GET", ["workflows"]:
                return {"workflows": [w.to_dict() for w in agents.workflows.list(tenant)]}
            case "POST", ["workflows", ref, "runs"]:
                return agents.run_workflow(tenant, ref, body.get("input"))
            case "GET", ["workflow-runs", run_id]:
                return agents.runs.get(tenant, run_id)
        raise InvalidInput(f"no local operation for {method} {path}")


@contextmanager
def open_agents(
    server: str | None,
    token: str | None,
    tenant: str | None,
    data_dir: Path | None,
    config_file: Path | None,
) -> Iterator[RemoteAgents | LocalAgents]:
    """The server's agents when ``--server`` is given, else a local platform's."""
    if server is not None:
        if not token:
            raise InvalidInput("--server needs --token (an access token with agents scopes)")
        yield RemoteAgents(server, token)
        return
    if tenant is None:
        raise InvalidInput("this command needs --tenant NAME (or --server) on local data")
    platform = open_platform(data_dir, config_file)
    try:
        yield LocalAgents(platform, tenant)
    finally:
        platform.stop()


@click.group("agent")
def agent() -> None:
    """Create, list, query and route to agents."""


@agent.command("create")
@click.argument("definition")
@target_options
@handle_errors
def create(definition: str, **target: Any) -> None:
    """Create an agent from a JSON/TOML DEFINITION file (``-``: stdin)."""
    with open_agents(**target) as agents:
        emit_json(agents.call("POST", "/agents", read_document(definition)))


@agent.command("list")
@target_options
@handle_errors
def list_agents(**target: Any) -> None:
    """The tenant's agents (name, version, backend, capabilities)."""
    with open_agents(**target) as agents:
        for item in agents.call("GET", "/agents")["agents"]:
            click.echo(
                f"{item['name']}  v{item['version']}  {item['backend']['kind']}  "
                f"{','.join(item['capabilities']) or '-'}  {item['id']}"
            )


@agent.command("show")
@click.argument("ref")
@target_options
@handle_errors
def show(ref: str, **target: Any) -> None:
    """One agent's definition (by name or id)."""
    with open_agents(**target) as agents:
        emit_json(agents.call("GET", f"/agents/{ref}"))


@agent.command("delete")
@click.argument("ref")
@target_options
@handle_errors
def delete(ref: str, **target: Any) -> None:
    """Delete an agent."""
    with open_agents(**target) as agents:
        agents.call("DELETE", f"/agents/{ref}")
        click.echo(f"deleted {ref}")


@agent.command("remember")
@click.argument("ref")
@click.argument("passages")
@target_options
@handle_errors
def remember(ref: str, passages: str, **target: Any) -> None:
    """Store PASSAGES (a JSON list of {"text", "source"?}) in the agent's memory."""
    with open_agents(**target) as agents:
        result = agents.call("POST", f"/agents/{ref}/memory", {"passages": read_document(passages)})
        click.echo(f"stored {result['count']} passage(s)")


@agent.command("query")
@click.argument("ref")
@click.argument("text")
@click.option("--conversation", default=None, help="Conversation id (history is kept).")
@click.option("--json", "as_json", is_flag=True, help="Print the whole reply as JSON.")
@target_options
@handle_errors
def query(ref: str, text: str, conversation: str | None, as_json: bool, **target: Any) -> None:
    """Ask agent REF; prints the answer, then usage and the trace id."""
    body = {"query": text, "conversation_id": conversation}
    with open_agents(**target) as agents:
        reply = agents.call("POST", f"/agents/{ref}/query", body)
    if as_json:
        emit_json(reply)
        return
    click.echo(reply["answer"])
    used = format_usage(reply["usage"])
    click.echo(
        f"-- {reply['agent']['name']} v{reply['agent']['version']}; "
        f"{used or 'no usage'}; trace {reply['trace_id']}",
        err=True,
    )


@agent.command("route")
@click.argument("text")
@click.option("--capability", "capabilities", multiple=True, help="Required (repeatable).")
@click.option("--json", "as_json", is_flag=True, help="Print the decision as JSON.")
@target_options
@handle_errors
def route(text: str, capabilities: tuple[str, ...], as_json: bool, **target: Any) -> None:
    """Which agent the router picks for TEXT, and why."""
    with open_agents(**target) as agents:
        decision = agents.call(
            "POST", "/route", {"query": text, "capabilities": list(capabilities)}
        )
    if as_json:
        emit_json(decision)
    else:
        click.echo(decision["agent_name"])
        click.echo(decision["explanation"], err=True)
