"""A content-addressed blob store on disk (plugin bundles, snapshots, archives).

Blobs are named by the sha256 of their bytes and stored as ``<root>/ab/cdef...``. Writes go
to a temporary file, are fsynced, then renamed into place, so a crash never leaves a partial
blob under a valid name; reads verify the digest.
"""

from __future__ import annotations

import hashlib
import os
import re
import tempfile
from pathlib import Path

from abi.errors import AbiError, InvalidInput, NotFound

_DIGEST = re.compile(r"^[0-9a-f]{64}$")


class BlobCorrupted(AbiError):
    code = "store.blob_corrupted"
    status = 500


class BlobStore:
    """Immutable blobs keyed by sha256."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.root.mkdir(parents=True, exist_ok=True)

    def path(self, digest: str) -> Path:
        if not _DIGEST.match(digest):
            raise InvalidInput(f"{digest!r} is not a sha256 hex digest")
        return self.root / digest[:2] / digest[2:]

    def put(self, data: bytes) -> str:
        """Store ``data`` (idempotent) and return its sha256 hex digest."""
        digest = hashlib.sha256(data).hexdigest()
        target = self.path(digest)
        if target.exists():
            return digest
        target.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=".tmp-")
        try:
            with os.fdopen(fd, "wb") as handle:
                handle.write(data)
                handle.flush()
                os.fsync(handle.fileno())
            os.replace(tmp, target)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
        return digest

    def get(self, digest: str) -> bytes:
        """The blob's bytes, verified against its digest."""
        try:
            data = self.path(digest).read_bytes()
        except FileNotFoundError as exc:
            raise NotFound(f"blob {digest} does not exist") from exc
        if hashlib.sha256(data).hexdigest() != digest:
            raise BlobCorrupted(f"blob {digest} is corrupted on disk; restore it from backup")
        return data

    def exists(self, digest: str) -> bool:
        return self.path(digest).exists()

    def delete(self, digest: str) -> bool:
        """Remove a blob; returns False when it was not there."""
        try:
            self.path(digest).unlink()
            return True
        except FileNotFoundError:
            return False
