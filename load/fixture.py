"""Prepares what the load scenarios need on a server, over its public API only.

As a platform admin it creates a tenant for the run (``load-<random>``) and records that
tenant's client credentials, then creates what each scenario uses where the server offers
it (a vector collection with some vectors, an installed plugin, an agent). The result is a
JSON fixture the locust users read from ``$LOAD_FIXTURE``.
"""

from __future__ import annotations

import json
import random
import secrets
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import httpx

API = "/api/v1"


@dataclass
class Fixture:
    base_url: str
    tenant_id: str
    client_id: str
    client_secret: str
    scenarios: dict[str, dict[str, Any]] = field(default_factory=dict)
    """Scenario name -> what it needs (collection name, plugin name, ...)."""

    def save(self, path: Path) -> None:
        path.write_text(json.dumps(asdict(self), indent=2), encoding="utf-8")

    @classmethod
    def load(cls, path: Path) -> Fixture:
        return cls(**json.loads(path.read_text(encoding="utf-8")))


def token(client: httpx.Client, client_id: str, client_secret: str) -> str:
    """A bearer token for the client (client_credentials grant)."""
    response = client.post(
        f"{API}/oauth/token",
        data={
            "grant_type": "client_credentials",
            "client_id": client_id,
            "client_secret": client_secret,
        },
    )
    response.raise_for_status()
    return str(response.json()["access_token"])


def _paths(client: httpx.Client) -> set[str]:
    response = client.get(f"{API}/openapi.json")
    response.raise_for_status()
    return set(response.json().get("paths", {}))


def prepare(base_url: str, admin_id: str, admin_secret: str) -> Fixture:
    """Create the run's tenant and each available scenario's objects on ``base_url``."""
    with httpx.Client(base_url=base_url, timeout=60) as client:
        admin = {"Authorization": f"Bearer {token(client, admin_id, admin_secret)}"}
        name = f"load-{secrets.token_hex(4)}"
        created = client.post(f"{API}/tenants", json={"name": name}, headers=admin)
        created.raise_for_status()
        body = created.json()
        fixture = Fixture(base_url, body["tenant_id"], body["client_id"], body["client_secret"])
        tenant_token = token(client, fixture.client_id, fixture.client_secret)
        tenant = {"Authorization": f"Bearer {tenant_token}"}
        paths = _paths(client)
        fixture.scenarios["token"] = {}
        fixture.scenarios["health"] = {}
        # One token shared by the WebSocket users: 10,000 connections should not mean 10,000
        # client-secret verifications before the first message.
        fixture.scenarios["ws"] = {"token": tenant_token}
        for prepare_some in PREPARERS:
            fixture.scenarios.update(prepare_some(client, tenant, paths))
        return fixture


VECTOR_DIMENSION = 64
VECTOR_COUNT = 5000
COLLECTION = "load"
PLUGIN = "load-echo"


def _check(response: httpx.Response) -> dict[str, Any]:
    if response.status_code >= 400:
        raise RuntimeError(f"{response.request.url}: HTTP {response.status_code}: {response.text}")
    body: dict[str, Any] = response.json() if response.content else {}
    return body


def _prepare_vectors(
    client: httpx.Client, headers: dict[str, str], paths: set[str]
) -> dict[str, dict[str, Any]]:
    """A 64-d HNSW collection with 5,000 random vectors; search and upsert scenarios."""
    if f"{API}/database/search" not in paths:
        return {}
    spec = {"name": COLLECTION, "dimension": VECTOR_DIMENSION, "index": "hnsw", "dtype": "f16"}
    _check(client.post(f"{API}/database/collections", json=spec, headers=headers))
    rng = random.Random(7)
    for start in range(0, VECTOR_COUNT, 500):
        batch = [
            {
                "id": f"v{i}",
                "vector": [rng.random() for _ in range(VECTOR_DIMENSION)],
                "payload": {"group": i % 10},
            }
            for i in range(start, start + 500)
        ]
        body = {"collection": COLLECTION, "vectors": batch}
        _check(client.post(f"{API}/database/vectors", json=body, headers=headers))
    return {
        "vector_search": {
            "path": f"{API}/database/search",
            "name": "/database/search (k=10)",
            "dimension": VECTOR_DIMENSION,
            "body": {"collection": COLLECTION, "k": 10},
        },
        "vector_upsert": {
            "path": f"{API}/database/vectors",
            "name": "/database/vectors (upsert 1)",
            "dimension": VECTOR_DIMENSION,
            "body": {"collection": COLLECTION},
            "items_key": "vectors",
        },
    }


def _prepare_plugin(
    client: httpx.Client, headers: dict[str, str], paths: set[str]
) -> dict[str, dict[str, Any]]:
    """A signed echo plugin (the plugin benchmark's module), published by a key registered
    for the tenant, installed, and invoked with a 100-byte text."""
    if f"{API}/plugins/{{name}}/invoke" not in paths:
        return {}
    import wasmtime

    from abi.plugins.benchmark import ECHO_WAT
    from abi.plugins.bundle import Bundle
    from abi.plugins.manifest import parse_manifest
    from abi.plugins.signing import generate_key, public_key_id

    key = generate_key()
    publisher = {"public_key": public_key_id(key), "name": "load-test"}
    _check(client.post(f"{API}/publishers", json=publisher, headers=headers))
    manifest = f'name = "{PLUGIN}"\nversion = "1.0.0"\nentry_points = ["handle"]\n'.encode()
    module = bytes(wasmtime.wat2wasm(ECHO_WAT))
    bundle = Bundle(parse_manifest(manifest), manifest, module).pack(key)
    upload = {**headers, "Content-Type": "application/octet-stream"}
    _check(client.post(f"{API}/plugins", content=bundle, headers=upload))
    _check(client.post(f"{API}/plugins/{PLUGIN}/install", json={}, headers=headers))
    return {
        "plugin_invoke": {
            "path": f"{API}/plugins/{PLUGIN}/invoke",
            "name": "/plugins/{name}/invoke (echo 100 B)",
            "body": {"entry": "handle", "input": "x" * 100},
        }
    }


def _prepare_agent(
    client: httpx.Client, headers: dict[str, str], paths: set[str]
) -> dict[str, dict[str, Any]]:
    """A retrieval agent (the built-in backend) with 50 passages in its memory."""
    if f"{API}/agents/{{ref}}/query" not in paths:
        return {}
    agent = {
        "name": "load-docs",
        "persona": {"description": "answers questions about the load test's documents"},
        "capabilities": ["vector_search"],
        "memory": {"collection": "load-docs-memory"},
        "backend": {"kind": "retrieval", "top_k": 3},
    }
    _check(client.post(f"{API}/agents", json=agent, headers=headers))
    topics = ["install", "ports", "plugins", "vectors", "tokens"]
    passages = [
        {"text": f"Passage {i} explains {topics[i % 5]} in detail", "source": f"doc{i}.md"}
        for i in range(50)
    ]
    memory = {"passages": passages}
    _check(client.post(f"{API}/agents/load-docs/memory", json=memory, headers=headers))
    return {
        "agent": {
            "path": f"{API}/agents/load-docs/query",
            "name": "/agents/{ref}/query (retrieval)",
            "body": {"query": "how are plugins installed"},
        }
    }


PREPARERS: list[Any] = [_prepare_vectors, _prepare_plugin, _prepare_agent]
"""Each ``(client, headers, openapi_paths) -> {scenario: spec}`` ({} when the server lacks
the routes it needs)."""
