"""Prepares what the load scenarios need on a server, over its public API only.

As a platform admin it creates a tenant for the run (``load-<random>``) and records that
tenant's client credentials, then creates what each scenario uses where the server offers
it (a vector collection with some vectors, an installed plugin, an agent). The result is a
JSON fixture the locust users read from ``$LOAD_FIXTURE``.
"""

from __future__ import annotations

import json
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
        for scenario, prepare_one in PREPARERS.items():
            prepared = prepare_one(client, tenant, paths)
            if prepared is not None:
                fixture.scenarios[scenario] = prepared
        return fixture


PREPARERS: dict[str, Any] = {}
"""Scenario name -> ``(client, headers, openapi_paths) -> dict | None`` (None: unavailable)."""
