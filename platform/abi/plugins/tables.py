"""The plugin registry's tables and their migration chain (component ``plugins``).

- ``plugin_publishers``: Ed25519 publisher keys, platform-wide (``tenant_id`` NULL) or
  registered by one tenant (plugins they sign are private to that tenant).
- ``plugins`` / ``plugin_versions``: every published version of every plugin, with its
  manifest and the digest of its bundle in the blob store.
- ``plugin_installations``: per tenant, which version is installed, enabled or not, the
  capabilities granted (with parameters), the capabilities declined and the config values
  (encrypted with the tenant's data key).
- ``plugin_kv``: the ``kv`` capability's state per (tenant, plugin); ``size`` is the bytes of
  the UTF-8 key plus the value (the quota counts it).
"""

from __future__ import annotations

import sqlalchemy as sa

from abi.store import Migration, metadata
from abi.store.migrations import create_tables
from abi.store.types import UTCDateTime

publishers = sa.Table(
    "plugin_publishers",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("key_id", sa.String(64), nullable=False, index=True),
    sa.Column("tenant_id", sa.String(64), nullable=True, index=True),
    sa.Column("name", sa.String(128), nullable=False),
    sa.Column("created_at", UTCDateTime(), nullable=False),
    sa.UniqueConstraint("key_id", "tenant_id", name="uq_plugin_publishers_key_tenant"),
)
"""``key_id`` is the base64 raw public key; ``tenant_id`` NULL means platform-wide."""

plugins = sa.Table(
    "plugins",
    metadata,
    sa.Column("name", sa.String(64), primary_key=True),
    sa.Column("owner_tenant_id", sa.String(64), nullable=True, index=True),
    sa.Column("publisher", sa.String(64), nullable=False),
    sa.Column("description", sa.Text, nullable=False),
    sa.Column("latest_version", sa.String(128), nullable=False),
    sa.Column("created_at", UTCDateTime(), nullable=False),
    sa.Column("updated_at", UTCDateTime(), nullable=False),
)
"""``owner_tenant_id`` NULL: public in the marketplace; else visible to that tenant only."""

plugin_versions = sa.Table(
    "plugin_versions",
    metadata,
    sa.Column(
        "name",
        sa.String(64),
        sa.ForeignKey("plugins.name", ondelete="CASCADE"),
        primary_key=True,
    ),
    sa.Column("version", sa.String(128), primary_key=True),
    sa.Column("manifest", sa.JSON, nullable=False),
    sa.Column("capabilities", sa.JSON, nullable=False),
    sa.Column("bundle_digest", sa.String(64), nullable=False, index=True),
    sa.Column("module_digest", sa.String(64), nullable=False),
    sa.Column("bundle_bytes", sa.Integer, nullable=False),
    sa.Column("publisher", sa.String(64), nullable=False),
    sa.Column("dependencies", sa.JSON, nullable=False),
    sa.Column("created_at", UTCDateTime(), nullable=False),
)
"""``dependencies``: the versions each dependency range resolved to when published."""

installations = sa.Table(
    "plugin_installations",
    metadata,
    sa.Column("tenant_id", sa.String(64), primary_key=True),
    sa.Column("name", sa.String(64), sa.ForeignKey("plugins.name"), primary_key=True),
    sa.Column("version", sa.String(128), nullable=False),
    sa.Column("enabled", sa.Boolean, nullable=False),
    sa.Column("grants", sa.JSON, nullable=False),
    sa.Column("declined", sa.JSON, nullable=False),
    sa.Column("config", sa.LargeBinary, nullable=False),
    sa.Column("lifecycle", sa.JSON, nullable=False),
    sa.Column("revision", sa.Integer, nullable=False),
    sa.Column("installed_at", UTCDateTime(), nullable=False),
    sa.Column("updated_at", UTCDateTime(), nullable=False),
)
"""``grants``: capability -> parameters; ``declined``: requested capabilities the tenant chose
not to grant; ``config``: the JSON config, encrypted at rest; ``lifecycle``: the latest
init/health/metrics results; ``revision`` grows with every change (and reload), so every
process serving the tenant notices and rebuilds its instances."""

kv_entries = sa.Table(
    "plugin_kv",
    metadata,
    sa.Column("tenant_id", sa.String(64), primary_key=True),
    sa.Column("plugin", sa.String(64), primary_key=True),
    sa.Column("key", sa.String(256), primary_key=True),
    sa.Column("value", sa.LargeBinary, nullable=False),
    sa.Column("size", sa.Integer, nullable=False),
    sa.Column("updated_at", UTCDateTime(), nullable=False),
)

MIGRATIONS = [
    Migration(
        "plugins",
        1,
        "create plugin publishers, plugins, versions, installations and kv entries",
        create_tables(publishers, plugins, plugin_versions, installations, kv_entries),
    )
]
