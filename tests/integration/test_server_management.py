"""Tenant, client, API key and audit routes, and the walls between tenants."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import httpx
import pytest

from abi.security import Role
from helpers.credentials import bearer_for_new_client


@pytest.fixture
def acme(tenant_factory: Callable[[str], Any]) -> Any:
    return tenant_factory("acme")


def _post(live_server: Any, caller: Any, resource: str, body: dict[str, Any]) -> httpx.Response:
    return httpx.post(f"{live_server.url}/api/v1/{resource}", headers=caller.headers(), json=body)


def _token_for(live_server: Any, created: dict[str, Any]) -> httpx.Response:
    """The token endpoint's answer for a client the API just created."""
    return httpx.post(
        f"{live_server.url}/api/v1/oauth/token",
        data={"grant_type": "client_credentials"},
        auth=(created["client_id"], created["client_secret"]),
    )


def test_platform_admin_creates_a_tenant_whose_client_works(
    live_server: Any, platform_admin: Any
) -> None:
    response = _post(live_server, platform_admin, "tenants", {"name": "beta"})
    assert response.status_code == 201
    assert _token_for(live_server, response.json()).status_code == 200


@pytest.mark.parametrize(
    ("caller", "resource", "body", "status", "code"),
    [
        ("acme", "tenants", {"name": "beta"}, 403, "auth.insufficient_scope"),
        ("platform_admin", "tenants", {"name": "Not Valid!"}, 400, "tenant.invalid_name"),
        (
            "acme",
            "clients",
            {"name": "x", "role": "reader", "scopes": "vectors:write"},
            400,
            "security.scope_not_in_role",
        ),
        ("acme", "clients", {"name": "x", "role": "platform_admin"}, 403, "auth.forbidden"),
    ],
    ids=[
        "tenant-admin-creates-tenant",
        "invalid-tenant-name",
        "scopes-beyond-role",
        "tenant-admin-mints-platform-admin",
    ],
)
def test_refused_creations(
    request: pytest.FixtureRequest,
    live_server: Any,
    *,
    caller: str,
    resource: str,
    body: dict[str, Any],
    status: int,
    code: str,
) -> None:
    response = _post(live_server, request.getfixturevalue(caller), resource, body)
    assert response.status_code == status
    assert response.json()["error"]["code"] == code


def test_tenant_listing_is_limited_to_the_own_tenant(
    live_server: Any, acme: Any, tenant_factory: Callable[[str], Any]
) -> None:
    tenant_factory("other")
    listed = httpx.get(f"{live_server.url}/api/v1/tenants", headers=acme.headers()).json()
    assert [t["tenant_id"] for t in listed["tenants"]] == [acme.tenant_id]


def test_platform_admin_lists_every_tenant(
    live_server: Any, platform_admin: Any, acme: Any
) -> None:
    listed = httpx.get(f"{live_server.url}/api/v1/tenants", headers=platform_admin.headers())
    names = {t["name"] for t in listed.json()["tenants"]}
    assert {"platform", "acme"} <= names


def test_another_tenants_record_reads_as_not_found(
    live_server: Any, acme: Any, tenant_factory: Callable[[str], Any]
) -> None:
    other = tenant_factory("other")
    response = httpx.get(
        f"{live_server.url}/api/v1/tenants/{other.tenant_id}", headers=acme.headers()
    )
    assert response.status_code == 404


def test_a_tenant_admin_creates_a_scoped_client(live_server: Any, acme: Any) -> None:
    body = {"name": "ingest", "role": "developer", "scopes": "vectors:write"}
    response = _post(live_server, acme, "clients", body)
    assert response.status_code == 201
    created = response.json()
    assert (created["tenant_id"], created["scopes"]) == (acme.tenant_id, "vectors:write")
    assert _token_for(live_server, created).json()["scope"] == "vectors:write"


def test_a_tenant_admin_cannot_create_clients_in_another_tenant(
    live_server: Any, acme: Any, tenant_factory: Callable[[str], Any]
) -> None:
    other = tenant_factory("other")
    response = _post(live_server, acme, "clients", {"name": "x", "tenant_id": other.tenant_id})
    assert response.status_code == 404
    assert live_server.platform.security.clients.list(other.tenant_id)[0].name == "other-admin"


def test_clients_of_another_tenant_cannot_be_deleted(
    live_server: Any, acme: Any, tenant_factory: Callable[[str], Any]
) -> None:
    other = tenant_factory("other")
    response = httpx.delete(
        f"{live_server.url}/api/v1/clients/{other.client_id}", headers=acme.headers()
    )
    assert response.status_code == 404
    assert httpx.get(f"{live_server.url}/api/v1/clients", headers=other.headers()).is_success


def test_client_listing_never_shows_secrets(live_server: Any, acme: Any) -> None:
    listed = httpx.get(f"{live_server.url}/api/v1/clients", headers=acme.headers()).json()
    assert listed["clients"][0]["client_id"] == acme.client_id
    assert not any("secret" in key for key in listed["clients"][0])


def test_audit_log_shows_the_tenants_actions_only(
    live_server: Any, acme: Any, tenant_factory: Callable[[str], Any]
) -> None:
    other = tenant_factory("other")
    _post(live_server, acme, "clients", {"name": "audited"})
    response = httpx.get(
        f"{live_server.url}/api/v1/audit", headers=acme.headers(), params={"action": "client.*"}
    )
    entries = response.json()["entries"]
    assert entries[0]["action"] == "client.create"
    assert entries[0]["actor"] == acme.client_id
    targets = {e["target"] for e in entries}
    assert other.client_id not in targets


def test_audit_query_is_validated(live_server: Any, acme: Any) -> None:
    response = httpx.get(
        f"{live_server.url}/api/v1/audit", headers=acme.headers(), params={"limit": "0"}
    )
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "invalid_input"


def test_developers_cannot_read_the_audit_log(live_server: Any, acme: Any) -> None:
    security = live_server.platform.security
    _client, headers = bearer_for_new_client(security, acme.tenant_id, "dev", Role.DEVELOPER)
    response = httpx.get(f"{live_server.url}/api/v1/audit", headers=headers)
    assert response.status_code == 403
