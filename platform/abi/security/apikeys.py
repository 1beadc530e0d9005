"""API keys: long-lived credentials sent as ``Authorization: ApiKey <key>`` (or ``X-API-Key``).

A key reads ``abi_k_<key id>_<secret>``; the key id finds the row, the secret is checked
against its stored hash. The full key is shown once, at creation.
"""

from __future__ import annotations

import re
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

import sqlalchemy as sa

from abi.errors import InvalidInput, NotFound, Unauthenticated
from abi.security.clients import grantable_scopes
from abi.security.credentials import Credential, check_name, fields_from_row
from abi.security.hashing import hash_secret, new_id, verify_secret
from abi.security.principal import Principal, Role
from abi.security.tables import api_keys
from abi.store import Database, TenantScope
from abi.store.types import utcnow

_KEY = re.compile(r"^abi_k_(k[0-9a-f]{24})_([A-Za-z0-9_-]{43})$")


@dataclass(frozen=True)
class ApiKey(Credential):
    """One API key (without its secret)."""

    key_id: str
    expires_at: datetime | None

    def to_public(self) -> dict[str, object]:
        """The key without its secret hash, for listings."""
        expires = self.expires_at.isoformat() if self.expires_at else None
        return {"key_id": self.key_id, **self.public_fields(), "expires_at": expires}


def _row_to_key(row: sa.RowMapping) -> ApiKey:
    return ApiKey(key_id=row["key_id"], expires_at=row["expires_at"], **fields_from_row(row))


class ApiKeyStore:
    """Create, authenticate, list and revoke API keys."""

    def __init__(self, db: Database) -> None:
        self.db = db

    def create(
        self,
        tenant_id: str,
        name: str,
        role: Role,
        scopes: str | None = None,
        ttl_days: int | None = None,
    ) -> tuple[ApiKey, str]:
        """A new key record and the full key string (shown once)."""
        check_name(name, "API key", "apikey.invalid_name")
        if ttl_days is not None and not 1 <= ttl_days <= 3650:
            raise InvalidInput("ttl_days must be between 1 and 3650", code="apikey.invalid_ttl")
        granted = grantable_scopes(role, scopes)
        key_id = new_id("k")
        secret = secrets.token_urlsafe(32)
        now = utcnow()
        record = ApiKey(
            key_id=key_id,
            tenant_id=tenant_id,
            name=name,
            role=role,
            scopes=granted,
            created_at=now,
            expires_at=now + timedelta(days=ttl_days) if ttl_days else None,
        )
        with self.db.begin() as conn:
            TenantScope(tenant_id).insert(
                conn,
                api_keys,
                {
                    "key_id": key_id,
                    "secret_hash": hash_secret(secret),
                    "expires_at": record.expires_at,
                    **record.columns(),
                },
            )
        return record, f"abi_k_{key_id}_{secret}"

    def authenticate(self, key: str) -> Principal:
        """The principal of a valid key; Unauthenticated for a malformed, unknown, wrong,
        or expired one (the same message for each, so keys cannot be probed)."""
        refused = Unauthenticated("API key is invalid, revoked or expired", code="auth.bad_api_key")
        match = _KEY.match(key.strip())
        if not match:
            raise refused
        key_id, secret = match.groups()
        with self.db.begin() as conn:
            row = conn.execute(sa.select(api_keys).where(api_keys.c.key_id == key_id)).mappings()
            found = row.first()
        if found is None or not verify_secret(secret, found["secret_hash"]):
            raise refused
        record = _row_to_key(found)
        if record.expires_at is not None and record.expires_at <= utcnow():
            raise refused
        return Principal(
            tenant_id=record.tenant_id,
            client_id=record.key_id,
            scopes=record.scopes,
            role=record.role,
            via="api_key",
        )

    def list(self, tenant_id: str) -> list[ApiKey]:
        with self.db.begin() as conn:
            rows = TenantScope(tenant_id).all(conn, api_keys, order_by=[api_keys.c.created_at])
        return [_row_to_key(row) for row in rows]

    def revoke(self, tenant_id: str, key_id: str) -> None:
        with self.db.begin() as conn:
            deleted = TenantScope(tenant_id).delete(conn, api_keys, api_keys.c.key_id == key_id)
        if not deleted:
            raise NotFound(f"API key {key_id!r} does not exist", code="apikey.not_found")
