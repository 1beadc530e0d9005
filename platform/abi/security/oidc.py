"""Tokens from an external OpenID Connect issuer, validated against its JWKS.

When ``security.external_oidc_issuer`` and ``security.external_oidc_jwks_url`` are set, a
bearer token whose ``iss`` is that issuer is checked with the issuer's published keys
(fetched over HTTPS, cached, refetched when an unknown key id shows up). The token must name
the platform's audience and carry the tenant in ``abi_tenant``; its role comes from
``abi_role`` (default reader) and its scopes from ``scope``/``scp``, limited to the role's.
"""

from __future__ import annotations

import base64
import json
import threading
import time
from typing import Any

import httpx
from joserfc import jwt
from joserfc.errors import JoseError
from joserfc.jwk import KeySet
from joserfc.jwt import JWTClaimsRegistry

from abi.errors import Unauthenticated, Unavailable
from abi.security.principal import ALL_SCOPES, Principal, Role

JWKS_TTL_SECONDS = 300.0
ALGORITHMS = ["RS256", "ES256", "PS256"]


def unverified_issuer(token: str) -> str | None:
    """The ``iss`` claim read without checking the signature (only to pick a validator)."""
    try:
        payload = token.split(".")[1]
        claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    except (IndexError, ValueError):
        return None
    issuer = claims.get("iss") if isinstance(claims, dict) else None
    return issuer if isinstance(issuer, str) else None


class ExternalIssuer:
    """Validates one external issuer's tokens."""

    def __init__(self, issuer: str, jwks_url: str, audience: str, timeout: float = 5.0) -> None:
        self.issuer = issuer
        self.jwks_url = jwks_url
        self.audience = audience
        self.timeout = timeout
        self._keys: KeySet | None = None
        self._fetched_at = float("-inf")
        self._lock = threading.Lock()

    def _fetch(self) -> KeySet:
        try:
            response = httpx.get(self.jwks_url, timeout=self.timeout)
            response.raise_for_status()
            keys = KeySet.import_key_set(response.json())
        except (httpx.HTTPError, ValueError, JoseError) as exc:
            raise Unavailable(
                f"cannot load the JWKS of issuer {self.issuer} from {self.jwks_url}: {exc}",
                code="auth.oidc_jwks_unavailable",
            ) from exc
        with self._lock:
            self._keys, self._fetched_at = keys, time.monotonic()
        return keys

    def _key_set(self, kid: str | None) -> KeySet:
        with self._lock:
            keys, age = self._keys, time.monotonic() - self._fetched_at
        known = keys is not None and (kid is None or any(k.kid == kid for k in keys.keys))
        if keys is None or age > JWKS_TTL_SECONDS or not known:
            return self._fetch()
        return keys

    def authenticate(self, token: str) -> Principal:
        refused = Unauthenticated(
            f"token from {self.issuer} is invalid, expired or not meant for this server",
            code="auth.invalid_token",
        )
        try:
            header = json.loads(base64.urlsafe_b64decode(token.split(".", maxsplit=1)[0] + "=="))
            decoded = jwt.decode(token, self._key_set(header.get("kid")), algorithms=ALGORITHMS)
            JWTClaimsRegistry(
                iss={"essential": True, "value": self.issuer},
                aud={"essential": True, "value": self.audience},
                exp={"essential": True},
                sub={"essential": True},
            ).validate(decoded.claims)
        except (JoseError, ValueError, IndexError) as exc:
            raise refused from exc
        return _principal(decoded.claims, refused)


def _principal(claims: dict[str, Any], refused: Unauthenticated) -> Principal:
    tenant = claims.get("abi_tenant")
    if not isinstance(tenant, str) or not tenant:
        raise refused
    try:
        role = Role(claims.get("abi_role", Role.READER.value))
    except ValueError as exc:
        raise refused from exc
    raw = claims.get("scope", claims.get("scp", ""))
    requested = set(raw.split() if isinstance(raw, str) else raw)
    if role is Role.PLATFORM_ADMIN:
        raise refused
    return Principal(
        tenant_id=tenant,
        client_id=f"oidc:{claims['sub']}",
        scopes=frozenset(requested & role.scopes & ALL_SCOPES),
        role=role,
        via="oidc",
    )
