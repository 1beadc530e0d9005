"""Token abuse: every forged, stale or misdirected credential is refused with 401/403."""

from __future__ import annotations

import base64
import json
import time
from collections.abc import Callable
from typing import Any

import httpx
import pytest
from joserfc import jwt
from joserfc.jwk import ECKey, OctKey

from abi.runtime import Platform
from abi.security import Role
from helpers.credentials import bearer_for_new_client


def _claims(handle: Any, /, **changes: Any) -> dict[str, Any]:
    now = int(time.time())
    claims = {
        "iss": "abi",
        "aud": "abi-api",
        "sub": handle.client_id,
        "client_id": handle.client_id,
        "iat": now,
        "exp": now + 600,
        "jti": f"forged-{now}",
        "scope": "clients:read",
        "tenant": handle.tenant_id,
        "role": "tenant_admin",
    }
    claims.update(changes)
    return {k: v for k, v in claims.items() if v is not None}


def _sign(platform: Platform, claims: dict[str, Any], key: Any = None) -> str:
    signing = key or platform.security.keys.private
    header = {"alg": "ES256", "typ": "at+jwt", "kid": signing.kid or "other"}
    return jwt.encode(header, claims, signing)


def _get_clients(url: str, token: str) -> httpx.Response:
    return httpx.get(f"{url}/api/v1/clients", headers={"Authorization": f"Bearer {token}"})


@pytest.fixture
def acme(tenant_factory: Callable[[str], Any]) -> Any:
    return tenant_factory("acme")


def test_a_correctly_signed_token_is_accepted(live_server: Any, acme: Any) -> None:
    token = _sign(live_server.platform, _claims(acme))
    assert _get_clients(live_server.url, token).status_code == 200


@pytest.mark.parametrize(
    "changes",
    [
        pytest.param({"exp": int(time.time()) - 5}, id="expired"),
        pytest.param({"aud": "some-other-api"}, id="wrong-audience"),
        pytest.param({"iss": "https://evil.example"}, id="wrong-issuer"),
        pytest.param({"exp": None}, id="no-expiry"),
        pytest.param({"jti": None}, id="no-jti"),
        pytest.param({"tenant": None}, id="no-tenant"),
        pytest.param({"role": "emperor"}, id="unknown-role"),
    ],
)
def test_bad_claims_are_refused(live_server: Any, acme: Any, changes: dict[str, Any]) -> None:
    token = _sign(live_server.platform, _claims(acme, **changes))
    response = _get_clients(live_server.url, token)
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "auth.invalid_token"


def test_tampered_payload_is_refused(live_server: Any, acme: Any) -> None:
    header, _payload, signature = acme.token("clients:read").split(".")
    forged_payload = _sign(live_server.platform, _claims(acme, scope="admin")).split(".")[1]
    response = _get_clients(live_server.url, f"{header}.{forged_payload}.{signature}")
    assert response.status_code == 401


def test_token_signed_by_another_key_is_refused(live_server: Any, acme: Any) -> None:
    stranger = ECKey.generate_key(
        "P-256", parameters={"kid": live_server.platform.security.keys.kid}
    )
    token = _sign(live_server.platform, _claims(acme), key=stranger)
    assert _get_clients(live_server.url, token).status_code == 401


def test_alg_none_is_refused(live_server: Any, acme: Any) -> None:
    def part(value: dict[str, Any]) -> str:
        return base64.urlsafe_b64encode(json.dumps(value).encode()).rstrip(b"=").decode()

    token = f"{part({'alg': 'none', 'typ': 'at+jwt'})}.{part(_claims(acme))}."
    assert _get_clients(live_server.url, token).status_code == 401


def test_hmac_with_the_public_key_is_refused(live_server: Any, acme: Any) -> None:
    public_json = json.dumps(live_server.platform.security.keys.jwks()["keys"][0]).encode()
    hmac_key = OctKey.import_key(public_json)
    header = {"alg": "HS256", "typ": "at+jwt", "kid": live_server.platform.security.keys.kid}
    token = jwt.encode(header, _claims(acme), hmac_key)
    assert _get_clients(live_server.url, token).status_code == 401


def test_revoked_token_is_refused(live_server: Any, acme: Any) -> None:
    token = acme.token("clients:read")
    assert _get_clients(live_server.url, token).status_code == 200
    revoked = httpx.post(
        f"{live_server.url}/api/v1/oauth/revoke",
        data={"token": token},
        auth=(acme.client_id, acme.client_secret),
    )
    assert revoked.status_code == 200
    response = _get_clients(live_server.url, token)
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "auth.token_revoked"


def test_a_client_cannot_revoke_another_clients_token(
    live_server: Any, acme: Any, tenant_factory: Callable[[str], Any]
) -> None:
    other = tenant_factory("other")
    token = acme.token("clients:read")
    httpx.post(
        f"{live_server.url}/api/v1/oauth/revoke",
        data={"token": token},
        auth=(other.client_id, other.client_secret),
    )
    assert _get_clients(live_server.url, token).status_code == 200


def test_token_without_the_routes_scope_is_forbidden(live_server: Any, acme: Any) -> None:
    response = _get_clients(live_server.url, acme.token("vectors:read"))
    assert response.status_code == 403
    assert response.json()["error"]["code"] == "auth.insufficient_scope"


def test_tokens_of_a_deleted_client_stop_working(live_server: Any, acme: Any) -> None:
    security = live_server.platform.security
    client, headers = bearer_for_new_client(security, acme.tenant_id, "doomed", Role.READER)
    assert httpx.get(f"{live_server.url}/api/v1/tenants", headers=headers).is_success
    security.delete_client(acme.tenant_id, client.client_id, actor="test")
    response = httpx.get(f"{live_server.url}/api/v1/tenants", headers=headers)
    assert response.status_code == 401


def test_unknown_authorization_scheme_is_refused(live_server: Any) -> None:
    response = httpx.get(
        f"{live_server.url}/api/v1/clients", headers={"Authorization": "Digest abc"}
    )
    assert response.status_code == 401
