"""The vector database's metadata tables and their migration chain."""

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

vector_logs = sa.Table(
    "vector_logs",
    metadata,
    sa.Column("tenant_id", sa.String(64), primary_key=True),
    sa.Column("name", sa.String(64), primary_key=True),
    sa.Column("log_id", sa.String(32), nullable=False, unique=True),
    sa.Column("seq", sa.BigInteger, nullable=False),
)
"""With ``vectors.replication = "database"``: the head of each collection's shared
write-ahead log. ``log_id`` changes when a collection is dropped and created again; ``seq``
is the last record's sequence number, bumped under the row lock that orders writers."""

vector_log_records = sa.Table(
    "vector_log_records",
    metadata,
    sa.Column("log_id", sa.String(32), primary_key=True),
    sa.Column("seq", sa.BigInteger, primary_key=True),
    sa.Column("tenant_id", sa.String(64), nullable=False),
    sa.Column("body", sa.LargeBinary, nullable=False),
)
"""The records of the shared write-ahead logs, in sequence order per log."""

MIGRATIONS = [
    Migration("vectors", 1, "create vector_collections", create_tables(vector_collections)),
    Migration(
        "vectors",
        2,
        "create the shared write-ahead log tables",
        create_tables(vector_logs, vector_log_records),
    ),
]
