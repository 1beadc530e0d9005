"""Shared steps of the agents API tests on a live server: a tenant's client for the
``/api/v1`` routes, an agent created with memories, and a subscription on the WebSocket hub."""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import Any

import httpx
from websockets.sync.client import ClientConnection, connect


def api_client(base_url: str, headers: Mapping[str, str], timeout: float = 30) -> httpx.Client:
    """A client for ``base_url``'s ``/api/v1`` routes (paths such as ``/agents``)."""
    return httpx.Client(base_url=f"{base_url}/api/v1", headers=dict(headers), timeout=timeout)


def create_agent(
    api: httpx.Client, definition: Mapping[str, Any], passages: Sequence[Mapping[str, Any]]
) -> dict[str, Any]:
    """Create the agent, store ``passages`` in its memory and return the created agent."""
    created = api.post("/agents", json=definition)
    assert created.status_code == 201, created.text
    stored = api.post(f"/agents/{definition['name']}/memory", json={"passages": passages})
    assert stored.status_code == 201, stored.text
    body: dict[str, Any] = created.json()
    return body


@contextmanager
def subscribed(
    base_url: str, headers: Mapping[str, str], topics: Iterable[str]
) -> Iterator[ClientConnection]:
    """A WebSocket hub connection whose welcome and subscription to ``topics`` are confirmed."""
    url = base_url.replace("http://", "ws://") + "/api/v1/ws"
    with connect(url, additional_headers=dict(headers)) as ws:
        assert json.loads(ws.recv(timeout=10))["type"] == "welcome"
        ws.send(json.dumps({"type": "subscribe", "topics": list(topics)}))
        assert json.loads(ws.recv(timeout=10))["type"] == "subscribed"
        yield ws
