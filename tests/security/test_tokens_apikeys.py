"""API key misuse: wrong, malformed, revoked, expired or foreign keys get nothing."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any

import httpx
import pytest
import sqlalchemy as sa

from abi.security import Role
from abi.security.tables import api_keys


@pytest.fixture
def acme(tenant_factory: Callable[[str], Any]) -> Any:
    return tenant_factory("acme")


def _create_key(live_server: Any, tenant: Any, **body: Any) -> dict[str, Any]:
    response = httpx.post(
        f"{live_server.url}/api/v1/api-keys",
        headers=tenant.headers(),
        json={"name": "ci", "role": "reader", **body},
    )
    assert response.status_code == 201, response.text
    created: dict[str, Any] = response.json()
    return created


def _tenants(url: str, **headers: str) -> httpx.Response:
    return httpx.get(f"{url}/api/v1/tenants", headers=headers)


def test_an_api_key_works_in_either_header(live_server: Any, acme: Any) -> None:
    key = _create_key(live_server, acme)["api_key"]
    assert _tenants(live_server.url, **{"X-API-Key": key}).status_code == 200
    assert _tenants(live_server.url, Authorization=f"ApiKey {key}").status_code == 200


def test_the_key_is_stored_only_as_a_hash(live_server: Any, acme: Any) -> None:
    created = _create_key(live_server, acme)
    with live_server.platform.db.begin() as conn:
        stored = conn.execute(sa.select(api_keys.c.secret_hash)).scalar_one()
    assert created["api_key"].split("_")[-1] not in stored
    assert stored.startswith("sha256:")
    listed = httpx.get(f"{live_server.url}/api/v1/api-keys", headers=acme.headers()).json()
    assert "api_key" not in listed["api_keys"][0]


def test_a_key_with_a_wrong_secret_is_refused(live_server: Any, acme: Any) -> None:
    key = _create_key(live_server, acme)["api_key"]
    forged = key[:-4] + ("AAAA" if not key.endswith("AAAA") else "BBBB")
    response = _tenants(live_server.url, **{"X-API-Key": forged})
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "auth.bad_api_key"


@pytest.mark.parametrize("bad", ["abi_k_", "garbage", "abi_k_k00_x", "Bearer abc"])
def test_malformed_keys_are_refused(live_server: Any, bad: str) -> None:
    assert _tenants(live_server.url, Authorization=f"ApiKey {bad}").status_code == 401


def test_a_revoked_key_is_refused(live_server: Any, acme: Any) -> None:
    created = _create_key(live_server, acme)
    deleted = httpx.delete(
        f"{live_server.url}/api/v1/api-keys/{created['key_id']}", headers=acme.headers()
    )
    assert deleted.status_code == 204
    assert _tenants(live_server.url, **{"X-API-Key": created["api_key"]}).status_code == 401


def test_an_expired_key_is_refused(live_server: Any, acme: Any) -> None:
    created = _create_key(live_server, acme, ttl_days=1)
    with live_server.platform.db.begin() as conn:
        row = conn.execute(sa.select(api_keys.c.created_at)).scalar_one()
        conn.execute(api_keys.update().values(expires_at=row - timedelta(seconds=1)))
    assert _tenants(live_server.url, **{"X-API-Key": created["api_key"]}).status_code == 401


def test_a_key_only_has_its_scopes(live_server: Any, acme: Any) -> None:
    key = _create_key(live_server, acme, scopes="tenants:read")["api_key"]
    response = httpx.get(f"{live_server.url}/api/v1/clients", headers={"X-API-Key": key})
    assert response.status_code == 403


def test_a_key_sees_only_its_own_tenant(
    live_server: Any, acme: Any, tenant_factory: Callable[[str], Any]
) -> None:
    other = tenant_factory("other")
    key = _create_key(live_server, acme)["api_key"]
    response = httpx.get(
        f"{live_server.url}/api/v1/tenants/{other.tenant_id}", headers={"X-API-Key": key}
    )
    assert response.status_code == 404


def test_a_reader_key_cannot_mint_credentials(live_server: Any, acme: Any) -> None:
    security = live_server.platform.security
    _record, key = security.api_keys.create(acme.tenant_id, "reader", Role.READER)
    response = httpx.post(
        f"{live_server.url}/api/v1/api-keys",
        headers={"X-API-Key": key},
        json={"name": "escalate", "role": "tenant_admin"},
    )
    assert response.status_code == 403
