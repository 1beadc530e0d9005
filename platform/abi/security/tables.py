"""The security subsystem's tables and their migration chain."""

from __future__ import annotations

import sqlalchemy as sa

from abi.store import Migration, metadata
from abi.store.migrations import create_tables
from abi.store.types import UTCDateTime


def _credential_columns() -> list[sa.Column[object]]:
    """What every credential row holds: its tenant, a label, the secret's hash, a role,
    the granted scopes (space-separated) and when it was made."""
    return [
        sa.Column("tenant_id", sa.String(64), nullable=False, index=True),
        sa.Column("name", sa.String(128), nullable=False),
        sa.Column("secret_hash", sa.String(128), nullable=False),
        sa.Column("role", sa.String(32), nullable=False),
        sa.Column("scopes", sa.Text, nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
    ]


oauth_clients = sa.Table(
    "oauth_clients",
    metadata,
    sa.Column("client_id", sa.String(64), primary_key=True),
    *_credential_columns(),
)

api_keys = sa.Table(
    "api_keys",
    metadata,
    sa.Column("key_id", sa.String(64), primary_key=True),
    *_credential_columns(),
    sa.Column("expires_at", UTCDateTime(), nullable=True),
)

revocations = sa.Table(
    "token_revocations",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("kind", sa.String(16), nullable=False),
    sa.Column("subject", sa.String(128), nullable=False),
    sa.Column("tenant_id", sa.String(64), nullable=False),
    sa.Column("expires_at", sa.Integer, nullable=False),
    sa.Column("revoked_at", UTCDateTime(), nullable=False),
    sa.UniqueConstraint("kind", "subject", name="uq_token_revocations_kind_subject"),
)
"""Revoked token ids (``kind='jti'``) and revoked clients (``kind='client'``, every token
issued before the revocation); ``expires_at`` (epoch seconds) bounds how long a row matters."""

tenant_keys = sa.Table(
    "tenant_data_keys",
    metadata,
    sa.Column("tenant_id", sa.String(64), primary_key=True),
    sa.Column("wrapped_key", sa.LargeBinary, nullable=False),
    sa.Column("created_at", UTCDateTime(), nullable=False),
)

audit_log = sa.Table(
    "audit_log",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("tenant_id", sa.String(64), nullable=False, index=True),
    sa.Column("at", UTCDateTime(), nullable=False, index=True),
    sa.Column("actor", sa.String(128), nullable=False),
    sa.Column("action", sa.String(64), nullable=False, index=True),
    sa.Column("target", sa.String(256), nullable=False),
    sa.Column("outcome", sa.String(16), nullable=False),
    sa.Column("details", sa.JSON, nullable=False),
)

MIGRATIONS = [
    Migration(
        "security",
        1,
        "create oauth clients, api keys, revocations, data keys and audit log",
        create_tables(oauth_clients, api_keys, revocations, tenant_keys, audit_log),
    )
]
