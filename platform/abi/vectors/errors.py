"""Errors of the vector database; each has a stable code under ``vectors.``."""

from __future__ import annotations

from collections.abc import Collection
from typing import Any

from abi.errors import AbiError, Conflict, InvalidInput, NotFound, PayloadTooLarge


class VectorInputError(InvalidInput):
    """A vector, id, payload or parameter is malformed; nothing was changed."""

    code = "vectors.invalid_input"


def check_choice(value: Any, choices: Collection[str], what: str, code: str) -> None:
    """Refuse ``value`` with error ``code`` unless it is one of ``choices`` (named in the
    message, e.g. ``unknown metric 'x'; use one of cosine, l2, ip``)."""
    if value not in choices:
        raise VectorInputError(
            f"unknown {what} {value!r}; use one of {', '.join(choices)}", code=code
        )


class FilterInvalid(InvalidInput):
    """A payload filter does not follow the filter schema."""

    code = "vectors.filter_invalid"


class CollectionNotFound(NotFound):
    code = "vectors.collection_not_found"


class VectorNotFound(NotFound):
    code = "vectors.vector_not_found"


class CollectionExists(Conflict):
    code = "vectors.collection_exists"


class BatchTooLarge(PayloadTooLarge):
    code = "vectors.batch_too_large"


class BackupCorrupt(InvalidInput):
    """A backup archive is damaged, incomplete or not a WDBX archive."""

    code = "vectors.backup_corrupt"


class StorageCorrupt(AbiError):
    """A collection's files on disk are damaged beyond the torn WAL tail."""

    code = "vectors.storage_corrupt"
    status = 500
