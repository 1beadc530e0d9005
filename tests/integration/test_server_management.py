"""Tenant, client, API key and audit routes, and the walls between tenants."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import httpx
import pytest


@pytest.fixture
def acme(tenant_factory: Callable[[str], Any]) -> Any:
    return tenant_factory("acme")


def test_platform_admin_creates_a_tenant_whose_client_works(
    live_server: Any, platform_admin: Any
) -> None:
    response = httpx.post(
        f"{live_server.url}/api/v1/tenants", headers=platform_admin.headers(), json={"name": "beta"}
    )
    assert response.status_code == 201
    created = response.json()
    token = httpx.post(
        f"{live_server.url}/api/v1/oauth/token",
        data={"grant_type": "client_credentials"},
        auth=(created["client_id"], created["client_secret"]),
    )
    assert token.status_code == 200


def test_a_tenant_admin_cannot_create_tenants(live_server: Any, acme: Any) -> None:
    response = httpx.post(
        f"{live_server.url}/api/v1/tenants", headers=acme.headers(), json={"name": "beta"}
    )
    assert response.status_code == 403


def test_tenant_names_are_validated(live_server: Any, platform_admin: Any) -> None:
    response = httpx.post(
        f"{live_server.url}/api/v1/tenants",
        headers=platform_admin.headers(),
        json={"name": "Not Valid!"},
    )
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "tenant.invalid_name"


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
    response = httpx.post(
        f"{live_server.url}/api/v1/clients",
        headers=acme.headers(),
        json={"name": "ingest", "role": "developer", "scopes": "vectors:write"},
    )
    assert response.status_code == 201
    created = response.json()
    assert created["tenant_id"] == acme.tenant_id
    assert created["scopes"] == "vectors:write"
    token = httpx.post(
        f"{live_server.url}/api/v1/oauth/token",
        data={"grant_type": "client_credentials"},
        auth=(created["client_id"], created["client_secret"]),
    ).json()
    assert token["scope"] == "vectors:write"


def test_scopes_beyond_the_role_are_refused(live_server: Any, acme: Any) -> None:
    response = httpx.post(
        f"{live_server.url}/api/v1/clients",
        headers=acme.headers(),
        json={"name": "x", "role": "reader", "scopes": "vectors:write"},
    )
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "security.scope_not_in_role"


def test_a_tenant_admin_cannot_mint_a_platform_admin(live_server: Any, acme: Any) -> None:
    response = httpx.post(
        f"{live_server.url}/api/v1/clients",
        headers=acme.headers(),
        json={"name": "x", "role": "platform_admin"},
    )
    assert response.status_code == 403


def test_a_tenant_admin_cannot_create_clients_in_another_tenant(
    live_server: Any, acme: Any, tenant_factory: Callable[[str], Any]
) -> None:
    other = tenant_factory("other")
    response = httpx.post(
        f"{live_server.url}/api/v1/clients",
        headers=acme.headers(),
        json={"name": "x", "tenant_id": other.tenant_id},
    )
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
    httpx.post(
        f"{live_server.url}/api/v1/clients", headers=acme.headers(), json={"name": "audited"}
    )
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
    from abi.security import Role

    client, _ = security.clients.create(acme.tenant_id, "dev", Role.DEVELOPER)
    token = security.tokens.issue(client)["access_token"]
    response = httpx.get(
        f"{live_server.url}/api/v1/audit", headers={"Authorization": f"Bearer {token}"}
    )
    assert response.status_code == 403
