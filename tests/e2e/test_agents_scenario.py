"""The agents scenario end to end through the public API on a live server:

create a tenant -> publish, install and grant a plugin -> create two agents with memories ->
route a request -> run a two-agent workflow with a plugin step, streamed over the WebSocket
hub -> see usage and a trace for each step."""

from __future__ import annotations

import json
from typing import Any

import httpx

from abi.plugins.signing import generate_key, public_key_id
from helpers.agents_api import api_client, create_agent, subscribed
from helpers.plugin_bundles import make_bundle

RESEARCHER = {
    "name": "researcher",
    "persona": {
        "description": "finds facts about the solar system and planets",
        "examples": ["how far is mars from the sun", "which planet has rings"],
    },
    "capabilities": ["vector_search", "reasoning"],
    "memory": {"collection": "astronomy"},
    "backend": {"kind": "retrieval", "top_k": 1},
}
CHEF = {
    "name": "chef",
    "persona": {
        "description": "knows recipes, cooking times and kitchen techniques",
        "examples": ["how long do I boil an egg", "what goes into a pesto"],
    },
    "capabilities": ["vector_search", "text_generation"],
    "memory": {"collection": "recipes"},
    "backend": {"kind": "retrieval", "top_k": 1},
}
WORKFLOW = {
    "name": "space-dinner",
    "description": "two agents answer, a plugin stores the combined note",
    "steps": [
        {"id": "facts", "kind": "agent", "agent": "researcher", "query": "{{ input.space }}"},
        {"id": "recipe", "kind": "agent", "agent": "chef", "query": "{{ input.food }}"},
        {
            "id": "store",
            "kind": "plugin",
            "plugin": "notebook",
            "entry": "remember",
            "input": {"facts": "{{ steps.facts.text }}", "recipe": "{{ steps.recipe.text }}"},
        },
        {"id": "recall", "kind": "plugin", "plugin": "notebook", "entry": "recall"},
    ],
    "output": "{{ steps.recall.output }}",
}


def _tenant_headers(base: str, admin: dict[str, str]) -> dict[str, str]:
    """A new tenant, and a bearer token for its admin client (client credentials)."""
    created = httpx.post(f"{base}/api/v1/tenants", json={"name": "stellar"}, headers=admin)
    assert created.status_code == 201, created.text
    tenant = created.json()
    issued = httpx.post(
        f"{base}/api/v1/oauth/token",
        data={"grant_type": "client_credentials"},
        auth=(tenant["client_id"], tenant["client_secret"]),
    )
    assert issued.status_code == 200, issued.text
    return {"Authorization": f"Bearer {issued.json()['access_token']}"}


def _install_plugin(api: httpx.Client, base: str, admin: dict[str, str]) -> None:
    """Publish a signed plugin, install it and grant the capability it requests."""
    signing = generate_key()
    publisher = httpx.post(
        f"{base}/api/v1/publishers",
        json={"public_key": public_key_id(signing), "name": "e2e", "platform_wide": True},
        headers=admin,
    )
    assert publisher.status_code == 201, publisher.text
    bundle = make_bundle("notebook", "1.0.0", signing, capabilities={"kv": {}})
    uploaded = api.post(
        "/plugins", content=bundle, headers={"Content-Type": "application/octet-stream"}
    )
    assert uploaded.status_code == 201, uploaded.text
    installed = api.post("/plugins/notebook/install", json={"grants": {"kv": {}}})
    assert installed.status_code == 201, installed.text
    assert installed.json()["grants"] == {"kv": {}}


def _create_agents(api: httpx.Client) -> None:
    for definition, passages in (
        (
            RESEARCHER,
            [
                {"text": "Mars is about 228 million km from the Sun", "source": "mars.md"},
                {"text": "Saturn has the most visible rings", "source": "saturn.md"},
            ],
        ),
        (
            CHEF,
            [
                {"text": "Boil an egg for 7 minutes for a jammy yolk", "source": "eggs.md"},
                {"text": "Pesto is basil, pine nuts, parmesan and olive oil", "source": "pesto.md"},
            ],
        ),
    ):
        create_agent(api, definition, passages)


def _run_streamed(
    api: httpx.Client, base: str, headers: dict[str, str]
) -> tuple[str, list[dict[str, Any]]]:
    """Start the workflow while subscribed to workflows.* and collect its events."""
    with subscribed(base, headers, ["workflows.*"]) as ws:
        started = api.post(
            "/workflows/space-dinner/runs",
            json={"input": {"space": "distance of mars", "food": "boil an egg"}},
        )
        assert started.status_code == 202, started.text
        run_id: str = started.json()["id"]
        events: list[dict[str, Any]] = []
        while not events or events[-1]["type"] != "run.finished":
            message = json.loads(ws.recv(timeout=30))
            if message["type"] == "event":
                assert message["topic"] == f"workflows.{run_id}"
                events.append(message["data"])
    return run_id, events


def test_agents_scenario(live_server: Any, platform_admin: Any) -> None:
    base = live_server.url
    admin = platform_admin.headers()
    headers = _tenant_headers(base, admin)
    api = api_client(base, headers, timeout=60)
    _install_plugin(api, base, admin)
    _create_agents(api)

    routed = api.post("/route", json={"query": "how long should I boil an egg"}).json()
    assert routed["agent_name"] == "chef"
    assert routed["agents_considered"] == 2 and "chef" in routed["explanation"]

    assert api.post("/workflows", json=WORKFLOW).status_code == 201
    run_id, events = _run_streamed(api, base, headers)
    streamed = [(e["type"], e.get("step_id")) for e in events]
    assert streamed == [
        ("run.started", None),
        *[
            (kind, step)
            for step in ("facts", "recipe", "store", "recall")
            for kind in ("step.started", "step.finished")
        ],
        ("run.finished", None),
    ]
    assert events[-1]["status"] == "completed"
    finished = [e for e in events if e["type"] == "step.finished"]
    assert all(e["usage"] and len(e["span_id"]) == 16 for e in finished)

    run = api.get(f"/workflow-runs/{run_id}").json()
    assert run["status"] == "completed"
    steps = {step["step_id"]: step for step in run["steps"]}
    assert steps["facts"]["output"]["sources"][0]["source"] == "mars.md"
    assert steps["recipe"]["output"]["sources"][0]["source"] == "eggs.md"
    assert run["output"] == {
        "facts": "[1] Mars is about 228 million km from the Sun",
        "recipe": "[1] Boil an egg for 7 minutes for a jammy yolk",
    }
    assert steps["facts"]["usage"]["vectors_searched"] == 2
    assert steps["recipe"]["usage"]["vectors_searched"] == 2
    assert steps["store"]["usage"]["plugin_fuel"] > 0
    assert steps["recall"]["usage"]["plugin_calls"] == 1
    assert run["usage"]["plugin_calls"] == 2 and run["usage"]["vectors_searched"] == 4
    assert {step["trace_id"] for step in run["steps"]} == {run["trace_id"]}
    assert len({step["span_id"] for step in run["steps"]}) == 4

    trace = api.get(f"/traces/{run['trace_id']}")
    assert trace.status_code == 200, trace.text
    names = [span["name"] for span in trace.json()["spans"]]
    assert names.count("invoke_agent") == 2
    assert names.count("execute_tool") == 2
    assert "invoke_workflow" in names
