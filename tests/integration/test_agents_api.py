"""Agents and workflows through the REST API on a live server: CRUD and versions, memory
and retrieval queries, routing, service discovery, streaming over the WebSocket hub,
workflow runs, scopes and tenant isolation."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest

from helpers.agents_api import api_client, create_agent, subscribed

DOCS = {
    "name": "docs",
    "persona": {
        "description": "answers questions about installing and running the product",
        "examples": ["how do I install it", "which port does the server use"],
    },
    "capabilities": ["vector_search", "text_generation"],
    "memory": {"collection": "docs-memory"},
    "services": [{"name": "docs.answer", "input_schema": {"type": "object"}}],
    "backend": {"kind": "retrieval", "top_k": 2},
}
PASSAGES = [
    {"text": "Install Abi with pip install abi", "source": "install.md"},
    {"text": "The server listens on port 8080 by default", "source": "serve.md"},
    {"text": "Plugins are WebAssembly modules signed with Ed25519", "source": "plugins.md"},
]


@pytest.fixture
def acme(tenant_factory: Callable[[str], Any]) -> Any:
    return tenant_factory("acme")


@pytest.fixture
def api(live_server: Any, acme: Any) -> Iterator[httpx.Client]:
    with api_client(live_server.url, acme.headers()) as client:
        yield client


@pytest.fixture
def docs(api: httpx.Client) -> dict[str, Any]:
    return create_agent(api, DOCS, PASSAGES)


def test_create_get_list_update_delete(api: httpx.Client, docs: dict[str, Any]) -> None:
    assert docs["version"] == 1 and docs["capabilities"] == ["text_generation", "vector_search"]
    assert api.get(f"/agents/{docs['id']}").json()["name"] == "docs"
    assert [a["name"] for a in api.get("/agents").json()["agents"]] == ["docs"]
    changed = api.put("/agents/docs", json={**DOCS, "capabilities": ["reasoning"]})
    assert changed.json()["version"] == 2
    versions = api.get("/agents/docs/versions").json()["versions"]
    assert [(v["version"], v["capabilities"]) for v in versions] == [
        (1, ["text_generation", "vector_search"]),
        (2, ["reasoning"]),
    ]
    assert api.delete("/agents/docs").status_code == 204
    missing = api.get("/agents/docs")
    assert missing.status_code == 404
    assert missing.json()["error"]["code"] == "agents.not_found"


def test_unknown_capability_is_a_400_that_names_it(api: httpx.Client) -> None:
    response = api.post("/agents", json={**DOCS, "capabilities": ["mind_reading"]})
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "agents.unknown_capability"
    assert api.get("/agents").json()["agents"] == []


def test_duplicate_name_is_a_409(api: httpx.Client, docs: dict[str, Any]) -> None:
    response = api.post("/agents", json=DOCS)
    assert response.status_code == 409
    assert response.json()["error"]["code"] == "agents.exists"


def test_retrieval_query_answers_from_memory(api: httpx.Client, docs: dict[str, Any]) -> None:
    response = api.post("/agents/docs/query", json={"query": "how do I install abi"})
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["sources"][0]["source"] == "install.md"
    assert body["answer"].startswith("[1] Install Abi with pip install abi")
    assert body["usage"]["vectors_searched"] == 3
    assert body["trace_id"] == response.headers["X-Trace-ID"]


def test_query_trace_holds_the_agent_span(api: httpx.Client, docs: dict[str, Any]) -> None:
    body = api.post("/agents/docs/query", json={"query": "which port"}).json()
    trace = api.get(f"/traces/{body['trace_id']}")
    assert trace.status_code == 200, trace.text
    names = {span["name"] for span in trace.json()["spans"]}
    assert {"http.request", "invoke_agent"} <= names


def test_route_explains_and_respects_capabilities(api: httpx.Client, docs: dict[str, Any]) -> None:
    api.post(
        "/agents",
        json={
            "name": "planner",
            "capabilities": ["planning"],
            "persona": {"description": "plans projects and schedules"},
        },
    )
    chosen = api.post("/route", json={"query": "how do I install it"}).json()
    assert chosen["agent_name"] == "docs" and "docs" in chosen["explanation"]
    forced = api.post(
        "/route", json={"query": "how do I install it", "capabilities": ["planning"]}
    ).json()
    assert forced["agent_name"] == "planner"
    none = api.post("/route", json={"query": "x", "capabilities": ["learning"]})
    assert none.status_code == 404
    assert none.json()["error"]["code"] == "agents.no_capable_agent"


def test_service_discovery_finds_providers(api: httpx.Client, docs: dict[str, Any]) -> None:
    found = api.get("/services/docs.answer").json()["providers"]
    assert [p["agent_name"] for p in found] == ["docs"]
    filtered = api.get("/services/docs.answer", params={"capabilities": "planning"})
    assert filtered.json()["providers"] == []


def test_streamed_query_and_messages_reach_websocket_clients(
    live_server: Any, acme: Any, api: httpx.Client, docs: dict[str, Any]
) -> None:
    with subscribed(live_server.url, acme.headers(), [f"agents.{docs['id']}.*"]) as ws:
        reply = api.post(
            "/agents/docs/query", json={"query": "install", "stream": True, "query_id": "s1"}
        ).json()
        api.post("/agents/docs/messages", json={"sender": "tester", "body": {"hi": 1}})
        events = []
        while len(events) < 4:
            message = json.loads(ws.recv(timeout=10))
            if message["type"] == "event":
                events.append(message)
    kinds = [(e["topic"].split(".")[-1], e["data"].get("type")) for e in events]
    assert kinds == [("s1", "start"), ("s1", "token"), ("s1", "done"), ("inbox", None)]
    assert events[2]["data"]["answer"] == reply["answer"]
    assert events[3]["data"]["body"] == {"hi": 1}


def test_workflow_crud_and_a_run(api: httpx.Client, docs: dict[str, Any]) -> None:
    workflow = {
        "name": "ask-twice",
        "steps": [
            {"id": "first", "kind": "agent", "agent": "docs"},
            {
                "id": "second",
                "kind": "agent",
                "capabilities": ["vector_search"],
                "query": "port of the server",
            },
        ],
        "output": {
            "install": "{{ steps.first.output.sources.0.source }}",
            "port": "{{ steps.second.output.sources.0.source }}",
        },
    }
    assert api.post("/workflows", json=workflow).status_code == 201
    assert api.get("/workflows/ask-twice").json()["version"] == 1
    run = api.post(
        "/workflows/ask-twice/runs", json={"input": {"query": "install abi"}, "wait": True}
    )
    assert run.status_code == 200, run.text
    body = run.json()
    assert body["status"] == "completed"
    assert body["output"] == {"install": "install.md", "port": "serve.md"}
    assert [s["step_id"] for s in body["steps"]] == ["first", "second"]
    assert all(s["usage"]["vectors_searched"] == 3 for s in body["steps"])
    listed = api.get("/workflows/ask-twice/runs").json()["runs"]
    assert [r["id"] for r in listed] == [body["id"]]
    again = api.post(f"/workflow-runs/{body['id']}/cancel")
    assert again.status_code == 409
    updated = api.put("/workflows/ask-twice", json={**workflow, "description": "v2"})
    assert updated.json()["version"] == 2
    assert api.delete("/workflows/ask-twice").status_code == 204


def test_invalid_workflow_is_a_400(api: httpx.Client) -> None:
    response = api.post("/workflows", json={"name": "bad", "steps": []})
    assert response.status_code == 400


def test_read_scope_cannot_write(live_server: Any, acme: Any, docs: dict[str, Any]) -> None:
    headers = acme.headers("agents:read")
    response = httpx.post(
        f"{live_server.url}/api/v1/agents/docs/query", json={"query": "x"}, headers=headers
    )
    assert response.status_code == 403
    listed = httpx.get(f"{live_server.url}/api/v1/agents", headers=headers)
    assert listed.status_code == 200


def test_other_tenant_sees_nothing(
    live_server: Any, tenant_factory: Callable[[str], Any], docs: dict[str, Any]
) -> None:
    other = tenant_factory("globex")
    with api_client(live_server.url, other.headers()) as client:
        assert client.get("/agents").json()["agents"] == []
        assert client.get(f"/agents/{docs['id']}").status_code == 404
        assert client.post("/agents/docs/query", json={"query": "x"}).status_code == 404
        assert client.post("/route", json={"query": "install"}).status_code == 404
