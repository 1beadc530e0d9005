"""The OAuth2 endpoints over HTTP: token issuance, JWKS and revocation."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import httpx
import pytest
from joserfc import jwt
from joserfc.jwk import KeySet


@pytest.fixture
def acme(tenant_factory: Callable[[str], Any]) -> Any:
    return tenant_factory("acme")


def _token(url: str, **kwargs: Any) -> httpx.Response:
    return httpx.post(f"{url}/api/v1/oauth/token", **kwargs)


def test_client_secret_basic_gets_a_bearer_token(live_server: Any, acme: Any) -> None:
    response = _token(
        live_server.url,
        data={"grant_type": "client_credentials"},
        auth=(acme.client_id, acme.client_secret),
    )
    assert response.status_code == 200
    body = response.json()
    assert body["token_type"] == "Bearer"
    assert body["expires_in"] == live_server.platform.settings.security.token_ttl_seconds
    assert "clients:write" in body["scope"].split()
    assert response.headers["Cache-Control"] == "no-store"


def test_client_secret_post_works_too(live_server: Any, acme: Any) -> None:
    form = {
        "grant_type": "client_credentials",
        "client_id": acme.client_id,
        "client_secret": acme.client_secret,
    }
    assert _token(live_server.url, data=form).status_code == 200


def test_requested_scope_narrows_the_token(live_server: Any, acme: Any) -> None:
    response = _token(
        live_server.url,
        data={"grant_type": "client_credentials", "scope": "vectors:read admin"},
        auth=(acme.client_id, acme.client_secret),
    )
    assert response.json()["scope"] == "vectors:read"


def test_the_token_verifies_with_the_published_jwks(live_server: Any, acme: Any) -> None:
    keys = httpx.get(f"{live_server.url}/api/v1/oauth/jwks").json()
    assert all("d" not in key for key in keys["keys"])
    claims = jwt.decode(acme.token(), KeySet.import_key_set(keys)).claims
    assert claims["tenant"] == acme.tenant_id
    assert claims["aud"] == "abi-api"
    assert claims["role"] == "tenant_admin"


def test_a_wrong_secret_is_a_json_401(live_server: Any, acme: Any) -> None:
    response = _token(
        live_server.url,
        data={"grant_type": "client_credentials"},
        auth=(acme.client_id, "wrong"),
    )
    assert response.status_code == 401
    error = response.json()["error"]
    assert error["code"] == "oauth.invalid_client"
    assert error["request_id"] == response.headers["X-Request-ID"]


def test_other_grant_types_are_refused(live_server: Any, acme: Any) -> None:
    response = _token(
        live_server.url,
        data={"grant_type": "password", "username": "a", "password": "b"},
        auth=(acme.client_id, acme.client_secret),
    )
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "oauth.unsupported_grant_type"


def test_a_form_without_grant_type_is_a_validation_error(live_server: Any) -> None:
    response = _token(live_server.url, data={"scope": "x"})
    assert response.status_code == 400
    assert response.json()["error"]["details"]["errors"][0]["field"] == "grant_type"


def test_issuing_a_token_is_audited(live_server: Any, acme: Any) -> None:
    _token(
        live_server.url,
        data={"grant_type": "client_credentials"},
        auth=(acme.client_id, acme.client_secret),
    )
    entries = live_server.platform.security.audit.query(acme.tenant_id, action="token.issue")
    assert entries[0].actor == acme.client_id


def test_a_refused_login_is_audited(live_server: Any, acme: Any) -> None:
    _token(
        live_server.url,
        data={"grant_type": "client_credentials"},
        auth=(acme.client_id, "wrong"),
    )
    entries = live_server.platform.security.audit.query(acme.tenant_id, action="token.issue")
    assert entries[0].outcome == "denied"
    assert entries[0].details == {"error": "invalid_client"}


def _token_over_plain_http_from(host: str, live_server: Any, acme: Any) -> httpx.Response:
    return _token(
        live_server.url,
        data={"grant_type": "client_credentials"},
        auth=(acme.client_id, acme.client_secret),
        headers={"Host": host},
    )


def test_plain_http_from_a_non_loopback_host_is_refused(live_server: Any, acme: Any) -> None:
    response = _token_over_plain_http_from("api.example.com", live_server, acme)
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "oauth.insecure_transport"


def test_require_https_off_serves_tokens_behind_a_proxy(live_server: Any, acme: Any) -> None:
    live_server.platform.settings.security.require_https = False
    response = _token_over_plain_http_from("api.example.com", live_server, acme)
    assert response.status_code == 200
