"""Tokens of an external OpenID Connect issuer, checked against a JWKS served on loopback."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from joserfc import jwt
from joserfc.jwk import KeySet, RSAKey

from abi.config import Settings, load_settings
from abi.errors import Unauthenticated, Unavailable
from abi.runtime import Platform

ISSUER = "https://idp.example"


@pytest.fixture(scope="module")
def idp_key() -> RSAKey:
    return RSAKey.generate_key(2048, parameters={"kid": "idp-1"})


@pytest.fixture
def jwks_url(idp_key: RSAKey) -> Iterator[str]:
    body = json.dumps(KeySet([idp_key]).as_dict(private=False)).encode()

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: Any) -> None:
            return

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/jwks"
    server.shutdown()
    server.server_close()


@pytest.fixture
def settings(tmp_path: Path, jwks_url: str) -> Settings:
    return load_settings(
        environ={},
        overrides={
            "data_dir": tmp_path / "data",
            "security": {"external_oidc_issuer": ISSUER, "external_oidc_jwks_url": jwks_url},
        },
    )


def _token(key: RSAKey, **changes: Any) -> str:
    now = int(time.time())
    claims = {
        "iss": ISSUER,
        "aud": "abi-api",
        "sub": "alice",
        "iat": now,
        "exp": now + 300,
        "abi_tenant": "t_acme",
        "abi_role": "developer",
        "scope": "vectors:read vectors:write clients:write",
    }
    claims.update(changes)
    return jwt.encode({"alg": "RS256", "kid": key.kid}, claims, key)


def test_a_valid_external_token_maps_to_a_principal(platform: Platform, idp_key: RSAKey) -> None:
    principal = platform.security.authenticate(f"Bearer {_token(idp_key)}")
    assert principal.tenant_id == "t_acme"
    assert principal.client_id == "oidc:alice"
    assert principal.via == "oidc"
    assert principal.scopes == {"vectors:read", "vectors:write"}  # clients:write: not a developer's


@pytest.mark.parametrize(
    "changes",
    [
        {"aud": "other"},
        {"exp": int(time.time()) - 10},
        {"abi_tenant": None},
        {"abi_role": "platform_admin"},
    ],
)
def test_bad_external_tokens_are_refused(
    platform: Platform, idp_key: RSAKey, changes: dict[str, Any]
) -> None:
    with pytest.raises(Unauthenticated):
        platform.security.authenticate(f"Bearer {_token(idp_key, **changes)}")


def test_a_token_signed_by_another_key_is_refused(platform: Platform) -> None:
    impostor = RSAKey.generate_key(2048, parameters={"kid": "idp-1"})
    with pytest.raises(Unauthenticated):
        platform.security.authenticate(f"Bearer {_token(impostor)}")


def test_an_unreachable_jwks_is_unavailable(tmp_path: Path, idp_key: RSAKey) -> None:
    settings = load_settings(
        environ={},
        overrides={
            "data_dir": tmp_path / "d",
            "security": {
                "external_oidc_issuer": ISSUER,
                "external_oidc_jwks_url": "http://127.0.0.1:9/jwks",
            },
        },
    )
    with Platform(settings) as platform, pytest.raises(Unavailable):
        platform.security.authenticate(f"Bearer {_token(idp_key)}")
