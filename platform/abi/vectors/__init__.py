"""WDBX: the multi-tenant vector database on usearch.

``VectorStore`` (``platform.vectors``) is the entry point; every method takes the tenant id
first. See README "Vector database (WDBX)".
"""

from abi.vectors.errors import (
    BackupCorrupt,
    CollectionExists,
    CollectionNotFound,
    FilterInvalid,
    VectorInputError,
    VectorNotFound,
)
from abi.vectors.store import VectorStore

__all__ = [
    "BackupCorrupt",
    "CollectionExists",
    "CollectionNotFound",
    "FilterInvalid",
    "VectorInputError",
    "VectorNotFound",
    "VectorStore",
]
