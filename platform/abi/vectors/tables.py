"""The vector database's metadata table and its migration chain."""

from __future__ import annotations

import sqlalchemy as sa

from abi.store import Migration, metadata
from abi.store.migrations import create_tables
from abi.store.types import UTCDateTime

vector_collections = sa.Table(
    "vector_collections",
    metadata,
    sa.Column("tenant_id", sa.String(64), primary_key=True),
    sa.Column("name", sa.String(64), primary_key=True),
    sa.Column("config", sa.Text, nullable=False),
    sa.Column("created_at", UTCDateTime(), nullable=False),
    sa.Column("updated_at", UTCDateTime(), nullable=False),
)
"""One row per collection; ``config`` is the JSON of its CollectionConfig."""

MIGRATIONS = [
    Migration("vectors", 1, "create vector_collections", create_tables(vector_collections)),
]
