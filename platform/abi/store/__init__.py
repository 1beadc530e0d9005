"""Metadata in SQL (SQLAlchemy) and content-addressed blobs on disk."""

from abi.store.blobs import BlobStore
from abi.store.db import Database, metadata
from abi.store.migrations import Migration
from abi.store.scoped import TenantScope

__all__ = ["BlobStore", "Database", "Migration", "TenantScope", "metadata"]
