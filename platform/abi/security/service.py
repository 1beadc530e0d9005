"""The Security component: one object that holds the security subsystem's parts.

``platform.security`` gives other subsystems the audit log (``record``), encryption at rest
(``encrypt`` / ``decrypt``), and the server its authentication and rate limits.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from abi.config import Settings
from abi.errors import Conflict, NotFound, Unauthenticated
from abi.security.apikeys import ApiKeyStore
from abi.security.audit import AuditLog
from abi.security.clients import Client, ClientStore
from abi.security.crypto import DataKeys, load_master_key
from abi.security.keys import SigningKeys
from abi.security.oidc import ExternalIssuer, unverified_issuer
from abi.security.principal import Principal, Role
from abi.security.ratelimit import RateLimiter
from abi.security.revocation import RevocationList
from abi.security.tables import MIGRATIONS
from abi.security.tokens import TokenService
from abi.store import Database
from abi.store.tenants import Tenant, TenantDirectory

PLATFORM_TENANT = "platform"

__all__ = ["MIGRATIONS", "Issued", "Security"]


@dataclass(frozen=True)
class Issued:
    """A tenant with its admin client, and the client's secret (shown once)."""

    tenant: Tenant
    client: Client
    client_secret: str

    def to_dict(self) -> dict[str, str]:
        return {
            "tenant_id": self.tenant.id,
            "tenant_name": self.tenant.name,
            "client_id": self.client.client_id,
            "client_secret": self.client_secret,
        }


class Security:
    """Tokens, clients, API keys, revocation, data keys, audit and rate limits."""

    name = "security"

    def __init__(self, settings: Settings, db: Database, tenants: TenantDirectory) -> None:
        self.settings = settings
        self.db = db
        self.tenants = tenants
        keys_dir = settings.data_dir / "keys"
        self.keys = SigningKeys(keys_dir)
        self.clients = ClientStore(db)
        self.api_keys = ApiKeyStore(db)
        self.audit = AuditLog(db)
        self.revocations = RevocationList(db)
        self.tokens = TokenService(
            settings.security, self.keys, self.clients, self.audit, self.revocations
        )
        self.data_keys = DataKeys(db, load_master_key(settings.security.master_key, keys_dir))
        server = settings.server
        self.limiter = RateLimiter(server.rate_limit_per_minute, server.rate_limit_burst)
        sec = settings.security
        self.external: ExternalIssuer | None = None
        if sec.external_oidc_issuer and sec.external_oidc_jwks_url:
            self.external = ExternalIssuer(
                sec.external_oidc_issuer, sec.external_oidc_jwks_url, sec.audience
            )

    # Component lifecycle -------------------------------------------------------------

    def start(self) -> None:
        self.revocations.purge_expired()
        self.revocations.refresh()

    def stop(self) -> None:
        """Nothing to release: state lives in the store and the key files."""

    def health(self) -> dict[str, Any]:
        return {"ok": True, "kid": self.keys.kid}

    # API for other subsystems ----------------------------------------------------------

    def record(self, tenant_id: str, action: str, *, actor: str, **fields: Any) -> None:
        """Append an audit entry (see :meth:`AuditLog.record`)."""
        self.audit.record(tenant_id, action, actor=actor, **fields)

    def encrypt(self, tenant_id: str, plaintext: bytes, context: bytes = b"") -> bytes:
        """Encrypt with the tenant's data key (AES-256-GCM)."""
        return self.data_keys.encrypt(tenant_id, plaintext, context)

    def decrypt(self, tenant_id: str, ciphertext: bytes, context: bytes = b"") -> bytes:
        return self.data_keys.decrypt(tenant_id, ciphertext, context)

    # Authentication ------------------------------------------------------------------

    def authenticate(self, authorization: str | None, api_key: str | None = None) -> Principal:
        """The principal behind an ``Authorization`` header (``Bearer <jwt>`` or
        ``ApiKey <key>``) or an ``X-API-Key`` value. Blocking (may query the store)."""
        if api_key:
            return self.api_keys.authenticate(api_key)
        if not authorization:
            raise Unauthenticated(
                "this route needs a credential: 'Authorization: Bearer <token>' "
                "(POST /api/v1/oauth/token) or an API key"
            )
        scheme, _, credential = authorization.partition(" ")
        if scheme.lower() == "apikey":
            return self.api_keys.authenticate(credential)
        if (
            self.external is not None
            and scheme.lower() == "bearer"
            and unverified_issuer(credential.strip()) == self.external.issuer
        ):
            return self.external.authenticate(credential.strip())
        return self.tokens.authenticate(authorization)

    # Tenants and bootstrap -----------------------------------------------------------

    def create_tenant(self, name: str, *, actor: str = "cli") -> Issued:
        """A new tenant and its first tenant-admin client."""
        if name == PLATFORM_TENANT:
            raise Conflict(
                f"tenant name {name!r} is reserved for platform administration",
                code="tenant.exists",
            )
        tenant = self.tenants.create(name)
        client, secret = self.clients.create(tenant.id, f"{name}-admin", Role.TENANT_ADMIN)
        self.audit.record(tenant.id, "tenant.create", actor=actor, target=tenant.id)
        self.audit.record(tenant.id, "client.create", actor=actor, target=client.client_id)
        return Issued(tenant, client, secret)

    def bootstrap_admin(self) -> Issued | None:
        """On first start: the ``platform`` tenant and a platform-admin client (the only
        time its secret exists in clear). None when the platform tenant already exists."""
        try:
            self.tenants.by_name(PLATFORM_TENANT)
            return None
        except NotFound:
            tenant = self.tenants.create(PLATFORM_TENANT)
        client, secret = self.clients.create(tenant.id, "platform-admin", Role.PLATFORM_ADMIN)
        self.audit.record(tenant.id, "client.create", actor="bootstrap", target=client.client_id)
        return Issued(tenant, client, secret)

    def delete_client(self, tenant_id: str, client_id: str, *, actor: str) -> None:
        """Delete a client and void every token it holds."""
        self.clients.delete(tenant_id, client_id)
        self.revocations.revoke_client(
            tenant_id, client_id, self.settings.security.token_ttl_seconds
        )
        self.audit.record(tenant_id, "client.delete", actor=actor, target=client_id)
