"""Extra credentials for tests: a new client of a tenant and a bearer header for it."""

from __future__ import annotations

from abi.security import Role, Security
from abi.security.clients import Client


def bearer_for_new_client(
    security: Security, tenant_id: str, name: str, role: Role
) -> tuple[Client, dict[str, str]]:
    """Create client ``name`` with ``role`` in the tenant; it and a Bearer header for it."""
    client, _secret = security.clients.create(tenant_id, name, role)
    token = security.tokens.issue(client)["access_token"]
    return client, {"Authorization": f"Bearer {token}"}
