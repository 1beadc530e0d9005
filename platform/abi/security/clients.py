"""OAuth2 clients: a tenant's machine identities, each with a role and a set of scopes.

The secret is shown once, at creation; only its hash is stored.
"""

from __future__ import annotations

from dataclasses import dataclass

import sqlalchemy as sa
from authlib.oauth2.rfc6749 import ClientMixin
from authlib.oauth2.rfc6749.util import scope_to_list

from abi.errors import Forbidden, InvalidInput, NotFound
from abi.security.credentials import Credential, check_name, fields_from_row
from abi.security.hashing import hash_secret, new_id, new_secret, verify_secret
from abi.security.principal import Role, format_scopes, parse_scopes
from abi.security.tables import oauth_clients
from abi.store import Database, TenantScope
from abi.store.types import utcnow

GRANT_TYPE = "client_credentials"
AUTH_METHODS = ("client_secret_basic", "client_secret_post")


@dataclass(frozen=True)
class Client(Credential, ClientMixin):  # type: ignore[misc]
    """One OAuth2 client as authlib's grants see it."""

    client_id: str
    secret_hash: str

    def get_client_id(self) -> str:
        return self.client_id

    def get_default_redirect_uri(self) -> str | None:
        return None

    def get_allowed_scope(self, scope: str | None) -> str:
        if not scope:
            return format_scopes(self.scopes)
        return format_scopes(s for s in scope_to_list(scope) if s in self.scopes)

    def check_redirect_uri(self, redirect_uri: str) -> bool:
        return False

    def check_client_secret(self, client_secret: str) -> bool:
        return verify_secret(client_secret, self.secret_hash)

    def check_endpoint_auth_method(self, method: str, endpoint: str) -> bool:
        return endpoint in ("token", "revocation") and method in AUTH_METHODS

    def check_response_type(self, response_type: str) -> bool:
        return False

    def check_grant_type(self, grant_type: str) -> bool:
        return grant_type == GRANT_TYPE

    def to_public(self) -> dict[str, object]:
        """The client without its secret hash, for listings."""
        return {"client_id": self.client_id, **self.public_fields()}


def _row_to_client(row: sa.RowMapping) -> Client:
    return Client(
        client_id=row["client_id"], secret_hash=row["secret_hash"], **fields_from_row(row)
    )


def grantable_scopes(role: Role, requested: str | None) -> frozenset[str]:
    """The scopes a credential of ``role`` gets: ``requested`` (all of the role's if None),
    which must lie within what the role grants."""
    scopes = parse_scopes(requested) if requested is not None else role.scopes
    if not scopes:
        raise InvalidInput("a credential needs at least one scope", code="security.invalid_scope")
    beyond = sorted(scopes - role.scopes)
    if beyond:
        raise InvalidInput(
            f"role {role.value} does not grant {', '.join(beyond)}",
            code="security.scope_not_in_role",
        )
    return scopes


def check_delegation(granter_scopes: frozenset[str], role: Role, scopes: frozenset[str]) -> None:
    """A creator may hand out only what it holds itself, and platform admin only if it is one."""
    if role is Role.PLATFORM_ADMIN and "admin" not in granter_scopes:
        raise Forbidden("only platform admins create platform admin credentials")
    missing = sorted(scopes - granter_scopes)
    if missing:
        raise Forbidden(
            f"you cannot grant scopes you do not hold: {', '.join(missing)}",
            code="security.scope_escalation",
        )


class ClientStore:
    """Create, find, list and delete OAuth2 clients."""

    def __init__(self, db: Database) -> None:
        self.db = db

    def create(
        self, tenant_id: str, name: str, role: Role, scopes: str | None = None
    ) -> tuple[Client, str]:
        """A new client and its secret (returned once, never stored in clear)."""
        check_name(name, "client", "client.invalid_name")
        granted = grantable_scopes(role, scopes)
        secret = new_secret("abi_cs_")
        client = Client(
            client_id=new_id("c_"),
            tenant_id=tenant_id,
            name=name,
            secret_hash=hash_secret(secret),
            role=role,
            scopes=granted,
            created_at=utcnow(),
        )
        with self.db.begin() as conn:
            TenantScope(tenant_id).insert(
                conn,
                oauth_clients,
                {
                    "client_id": client.client_id,
                    "secret_hash": client.secret_hash,
                    **client.columns(),
                },
            )
        return client, secret

    def find(self, client_id: str) -> Client | None:
        """Any tenant's client by id (the token endpoint does not know the tenant yet)."""
        with self.db.begin() as conn:
            row = (
                conn.execute(sa.select(oauth_clients).where(oauth_clients.c.client_id == client_id))
                .mappings()
                .first()
            )
        return _row_to_client(row) if row else None

    def get(self, tenant_id: str, client_id: str) -> Client:
        with self.db.begin() as conn:
            row = TenantScope(tenant_id).one(
                conn, oauth_clients, oauth_clients.c.client_id == client_id
            )
        if row is None:
            raise NotFound(f"client {client_id!r} does not exist", code="client.not_found")
        return _row_to_client(row)

    def list(self, tenant_id: str) -> list[Client]:
        with self.db.begin() as conn:
            rows = TenantScope(tenant_id).all(
                conn, oauth_clients, order_by=[oauth_clients.c.created_at]
            )
        return [_row_to_client(row) for row in rows]

    def count(self) -> int:
        with self.db.begin() as conn:
            stmt = sa.select(sa.func.count()).select_from(oauth_clients)
            return int(conn.execute(stmt).scalar() or 0)

    def delete(self, tenant_id: str, client_id: str) -> None:
        with self.db.begin() as conn:
            deleted = TenantScope(tenant_id).delete(
                conn, oauth_clients, oauth_clients.c.client_id == client_id
            )
        if not deleted:
            raise NotFound(f"client {client_id!r} does not exist", code="client.not_found")
