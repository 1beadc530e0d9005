"""OAuth2 on authlib's framework-agnostic core: the client_credentials token endpoint,
RFC 9068 JWT access tokens signed with the platform key, RFC 7009 revocation, and the
resource-side validator.

The server face hands requests in as :class:`HttpRequest` and gets ``(status, body, headers)``
back, so nothing here depends on the web framework.
"""

from __future__ import annotations

import base64
import ipaddress
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import unquote, urlsplit

from authlib.common.security import is_secure_transport
from authlib.oauth2 import AuthorizationServer, ResourceProtector
from authlib.oauth2.rfc6749 import OAuth2Request, grants
from authlib.oauth2.rfc6749.errors import MissingAuthorizationError, OAuth2Error
from authlib.oauth2.rfc6749.requests import BasicOAuth2Payload
from authlib.oauth2.rfc6750.errors import InsufficientScopeError
from authlib.oauth2.rfc7009 import RevocationEndpoint
from authlib.oauth2.rfc9068 import JWTBearerTokenGenerator, JWTBearerTokenValidator
from joserfc import jwt
from joserfc.errors import JoseError
from joserfc.jwk import KeySet

from abi.config import SecuritySettings
from abi.errors import Unauthenticated
from abi.security.audit import AuditLog
from abi.security.clients import AUTH_METHODS, Client, ClientStore
from abi.security.keys import ALGORITHM, SigningKeys
from abi.security.principal import Principal, Role
from abi.security.revocation import RevocationList

Response = tuple[int, dict[str, Any], list[tuple[str, str]]]
VERIFIED_CACHE_SIZE = 10_000


@dataclass
class HttpRequest:
    """The parts of an HTTP request the OAuth2 endpoints read."""

    method: str
    uri: str
    headers: Mapping[str, str]
    peer: str | None  # the client's address as the server saw it
    form: dict[str, str] = field(default_factory=dict)


def is_secure_request(request: HttpRequest) -> bool:
    """HTTPS, or plain HTTP on loopback: a loopback host in the URL *and* a loopback peer (a
    remote client can put ``Host: localhost`` in its request, not its address)."""
    if urlsplit(request.uri).scheme == "https":
        return True
    return is_secure_transport(request.uri) and _is_loopback(request.peer)


def _is_loopback(address: str | None) -> bool:
    try:
        return address is not None and ipaddress.ip_address(address).is_loopback
    except ValueError:
        return False


class _Request(OAuth2Request):  # type: ignore[misc]
    def __init__(self, request: HttpRequest) -> None:
        # TokenService checks the transport itself (security.require_https); authlib's own
        # check sees the URI as https so that a TLS-terminating proxy in front works.
        uri = "https://" + request.uri.removeprefix("http://").removeprefix("https://")
        super().__init__(request.method, uri, headers=request.headers)
        self._form = request.form
        self.payload = BasicOAuth2Payload(request.form)

    @property
    def args(self) -> dict[str, str]:
        return {}

    @property
    def form(self) -> dict[str, str]:
        return self._form


class _ClientCredentialsGrant(grants.ClientCredentialsGrant):  # type: ignore[misc]
    TOKEN_ENDPOINT_AUTH_METHODS = list(AUTH_METHODS)


class _TokenGenerator(JWTBearerTokenGenerator):  # type: ignore[misc]
    def __init__(self, keys: SigningKeys, settings: SecuritySettings) -> None:
        super().__init__(
            issuer=settings.issuer, alg=ALGORITHM, expires_generator=settings.token_ttl_seconds
        )
        self._keys = keys
        self._audience = settings.audience

    def get_jwks(self) -> KeySet:
        return self._keys.private_set

    def get_audiences(self, client: Client, user: object, scope: str) -> str:
        return self._audience

    def get_extra_claims(
        self, client: Client, grant_type: str, user: object, scope: str
    ) -> dict[str, Any]:
        return {"tenant": client.tenant_id, "role": client.role.value}


class _Revocation(RevocationEndpoint):  # type: ignore[misc]
    CLIENT_AUTH_METHODS = list(AUTH_METHODS)
    SUPPORTED_TOKEN_TYPES = ("access_token",)

    def __init__(self, service: TokenService) -> None:
        super().__init__(server=service.server)
        self._service = service

    def query_token(self, token_string: str, token_type_hint: str | None) -> _IssuedToken | None:
        return self._service.decode_signed(token_string)

    def revoke_token(self, token: _IssuedToken, request: _Request) -> None:
        self._service.revocations.revoke_token(token.tenant_id, token.jti, token.expires_at)
        self._service.audit.record(
            token.tenant_id, "token.revoke", actor=request.client.client_id, target=token.jti
        )


@dataclass(frozen=True)
class _IssuedToken:
    """A token whose signature checked out (maybe expired), as the revocation endpoint sees it."""

    jti: str
    client_id: str
    tenant_id: str
    expires_at: int

    def check_client(self, client: Client) -> bool:
        return client.client_id == self.client_id


def _claimed_client_id(request: HttpRequest) -> str:
    """The client id a token request claims (HTTP Basic user or form field), unverified."""
    headers = request.headers
    authorization = headers.get("Authorization") or headers.get("authorization") or ""
    scheme, _, encoded = authorization.partition(" ")
    if scheme.lower() == "basic":
        try:
            user = base64.b64decode(encoded, validate=True).decode().partition(":")[0]
            return unquote(user)
        except (ValueError, UnicodeDecodeError):
            return ""
    return request.form.get("client_id", "")


def _record_issue(audit: AuditLog, client: Client, token: dict[str, Any]) -> None:
    audit.record(
        client.tenant_id,
        "token.issue",
        actor=client.client_id,
        target=client.client_id,
        scope=token.get("scope", ""),
    )


class _Server(AuthorizationServer):  # type: ignore[misc]
    def __init__(self, clients: ClientStore, audit: AuditLog) -> None:
        super().__init__()
        self._clients = clients
        self._audit = audit

    def query_client(self, client_id: str) -> Client | None:
        return self._clients.find(client_id)

    def save_token(self, token: dict[str, Any], request: _Request) -> None:
        _record_issue(self._audit, request.client, token)

    def send_signal(self, name: str, *args: Any, **kwargs: Any) -> None:
        """No signal receivers: issuing and revoking are audited in save_token/revoke_token."""

    def create_oauth2_request(self, request: HttpRequest) -> _Request:
        return _Request(request)

    def handle_response(
        self, status: int, body: dict[str, Any], headers: list[tuple[str, str]]
    ) -> Response:
        return status, body, list(headers)


class _Validator(JWTBearerTokenValidator):  # type: ignore[misc]
    def __init__(self, keys: SigningKeys, settings: SecuritySettings) -> None:
        super().__init__(issuer=settings.issuer, resource_server=settings.audience)
        self._keys = keys

    def get_jwks(self) -> KeySet:
        return self._keys.public_set


class _HeaderRequest:
    def __init__(self, authorization: str) -> None:
        self.headers = {"Authorization": authorization}


class TokenService:
    """Issues, validates and revokes the platform's access tokens."""

    def __init__(
        self,
        settings: SecuritySettings,
        keys: SigningKeys,
        clients: ClientStore,
        audit: AuditLog,
        revocations: RevocationList,
    ) -> None:
        self.settings = settings
        self.keys = keys
        self.clients = clients
        self.audit = audit
        self.revocations = revocations
        self.server = _Server(clients, audit)
        self.server.register_grant(_ClientCredentialsGrant)
        self.server.register_token_generator("default", _TokenGenerator(keys, settings))
        self.server.register_endpoint(_Revocation(self))
        self._verified: dict[str, _Verified] = {}
        self._verified_lock = threading.Lock()
        self.protector = ResourceProtector()
        self.protector.register_token_validator(_Validator(keys, settings))

    def _insecure(self, request: HttpRequest) -> Response | None:
        if not self.settings.require_https or is_secure_request(request):
            return None
        body = {
            "error": "insecure_transport",
            "error_description": "OAuth2 needs HTTPS except on loopback: serve with "
            "--certfile/--keyfile, or set security.require_https=false behind a TLS proxy",
        }
        return 400, body, [("Cache-Control", "no-store")]

    def token_response(self, request: HttpRequest) -> Response:
        """The token endpoint: ``(status, JSON body, headers)``, OAuth2 errors included.
        A refused request naming an existing client is audited in that client's tenant."""
        if (refused := self._insecure(request)) is not None:
            return refused
        response: Response = self.server.create_token_response(request)
        status, body, _ = response
        if status >= 400:
            client = self.clients.find(_claimed_client_id(request))
            if client is not None:
                self.audit.record(
                    client.tenant_id,
                    "token.issue",
                    actor=client.client_id,
                    target=client.client_id,
                    outcome="denied",
                    error=str(body.get("error", "")),
                )
        return response

    def revocation_response(self, request: HttpRequest) -> Response:
        """The RFC 7009 revocation endpoint."""
        if (refused := self._insecure(request)) is not None:
            return refused
        return self.server.create_endpoint_response("revocation", request)  # type: ignore[no-any-return]

    def issue(self, client: Client, scope: str | None = None) -> dict[str, Any]:
        """A token for an already-authenticated client (used by the CLI without a server)."""
        granted = client.get_allowed_scope(scope)
        token: dict[str, Any] = self.server.generate_token(
            "client_credentials", client, scope=granted, include_refresh_token=False
        )
        _record_issue(self.audit, client, token)
        return token

    def decode_signed(self, token_string: str) -> _IssuedToken | None:
        """The token's identity if its signature is ours (expiry not checked), else None."""
        try:
            claims = jwt.decode(token_string, self.keys.public_set, algorithms=[ALGORITHM]).claims
            return _IssuedToken(
                jti=str(claims["jti"]),
                client_id=str(claims["client_id"]),
                tenant_id=str(claims["tenant"]),
                expires_at=int(claims["exp"]),
            )
        except (JoseError, KeyError, TypeError, ValueError):
            return None

    def authenticate(self, authorization: str) -> Principal:
        """The principal of a ``Bearer`` Authorization header value; Unauthenticated if the
        token is missing, malformed, badly signed, expired, for another audience or issuer,
        or revoked.

        A token that verified once is remembered (by its exact string, until it expires), so
        repeated requests skip the signature check; revocation is checked on every call."""
        cached = self._verified.get(authorization)
        if cached is not None and time.time() < cached.expires_at:
            principal = cached.principal
        else:
            principal, expires_at = self._verify(authorization)
            self._remember(authorization, _Verified(principal, expires_at))
        if self.revocations.is_revoked(
            principal.token_id or "", principal.client_id, principal.issued_at
        ):
            raise Unauthenticated("access token has been revoked", code="auth.token_revoked")
        return principal

    def _remember(self, authorization: str, verified: _Verified) -> None:
        with self._verified_lock:
            if len(self._verified) >= VERIFIED_CACHE_SIZE:
                now = time.time()
                live = {k: v for k, v in self._verified.items() if v.expires_at > now}
                while len(live) >= VERIFIED_CACHE_SIZE:
                    del live[next(iter(live))]
                self._verified = live
            self._verified[authorization] = verified

    def _verify(self, authorization: str) -> tuple[Principal, float]:
        try:
            claims = self.protector.validate_request(None, _HeaderRequest(authorization))
        except MissingAuthorizationError as exc:
            raise Unauthenticated("send 'Authorization: Bearer <token>'") from exc
        except InsufficientScopeError as exc:  # pragma: no cover - scopes are checked by callers
            raise Unauthenticated(exc.get_error_description()) from exc
        except OAuth2Error as exc:
            raise Unauthenticated(
                "access token is invalid, expired, or not meant for this server; "
                "get a new one from POST /api/v1/oauth/token",
                code="auth.invalid_token",
            ) from exc
        try:
            tenant_id, role = str(claims["tenant"]), Role(claims["role"])
        except (KeyError, ValueError) as exc:
            raise Unauthenticated(
                "access token lacks tenant or role", code="auth.invalid_token"
            ) from exc
        principal = Principal(
            tenant_id=tenant_id,
            client_id=str(claims["client_id"]),
            scopes=frozenset(str(claims.get("scope", "")).split()),
            role=role,
            via="token",
            token_id=str(claims["jti"]),
            issued_at=float(claims["iat"]),
        )
        return principal, float(claims["exp"])


@dataclass(frozen=True)
class _Verified:
    principal: Principal
    expires_at: float
