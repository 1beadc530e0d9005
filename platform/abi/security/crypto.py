"""Encryption at rest: per-tenant AES-256-GCM data keys wrapped by a master key.

Other subsystems call :meth:`DataKeys.encrypt` / :meth:`DataKeys.decrypt` for secrets and
sensitive payloads. The master key comes from ``security.master_key`` (base64, 32 bytes) or is
generated into ``<data_dir>/keys/master.key``. Each tenant's data key is created on first use,
stored only wrapped, and bound to its tenant (the tenant id is authenticated data), so a
ciphertext of one tenant never decrypts under another.
"""

from __future__ import annotations

import base64
import binascii
import os
import threading
from pathlib import Path

import sqlalchemy as sa
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from abi.errors import AbiError, ConfigError
from abi.security.files import read_or_create
from abi.security.tables import tenant_keys
from abi.store import Database
from abi.store.types import utcnow

VERSION = b"\x01"
NONCE_BYTES = 12


class DecryptionFailed(AbiError):
    code = "security.decrypt_failed"
    status = 500


def load_master_key(configured: str | None, directory: Path) -> bytes:
    """The 32-byte master key: from config if set, else from (or into) the key file."""
    if configured is not None:
        raw = configured.encode()
        source = "security.master_key"
    else:
        path = directory / "master.key"
        raw = read_or_create(path, lambda: base64.b64encode(os.urandom(32)))
        source = str(path)
    try:
        key = base64.b64decode(raw.strip(), validate=True)
    except binascii.Error as exc:
        raise ConfigError(f"{source} is not valid base64", key="security.master_key") from exc
    if len(key) != 32:
        raise ConfigError(
            f"{source} must decode to 32 bytes, got {len(key)}", key="security.master_key"
        )
    return key


class DataKeys:
    """Per-tenant data keys and authenticated encryption with them."""

    def __init__(self, db: Database, master_key: bytes) -> None:
        self.db = db
        self._master = AESGCM(master_key)
        self._cache: dict[str, AESGCM] = {}
        self._lock = threading.Lock()

    def _wrap(self, tenant_id: str, key: bytes) -> bytes:
        nonce = os.urandom(NONCE_BYTES)
        return nonce + self._master.encrypt(nonce, key, b"tenant-key:" + tenant_id.encode())

    def _unwrap(self, tenant_id: str, wrapped: bytes) -> bytes:
        try:
            return self._master.decrypt(
                wrapped[:NONCE_BYTES], wrapped[NONCE_BYTES:], b"tenant-key:" + tenant_id.encode()
            )
        except InvalidTag as exc:
            raise DecryptionFailed(
                f"the data key of tenant {tenant_id} does not unwrap: the master key differs "
                "from the one it was created with"
            ) from exc

    def _key(self, tenant_id: str) -> AESGCM:
        with self._lock:
            cached = self._cache.get(tenant_id)
        if cached is not None:
            return cached
        stmt = sa.select(tenant_keys.c.wrapped_key).where(tenant_keys.c.tenant_id == tenant_id)
        with self.db.begin() as conn:
            wrapped = conn.execute(stmt).scalar()
        if wrapped is None:
            try:
                with self.db.begin() as conn:
                    conn.execute(
                        tenant_keys.insert().values(
                            tenant_id=tenant_id,
                            wrapped_key=self._wrap(tenant_id, AESGCM.generate_key(256)),
                            created_at=utcnow(),
                        )
                    )
            except sa.exc.IntegrityError:
                pass  # another worker created it first: use theirs
            with self.db.begin() as conn:
                wrapped = conn.execute(stmt).scalar_one()
        aead = AESGCM(self._unwrap(tenant_id, wrapped))
        with self._lock:
            self._cache[tenant_id] = aead
        return aead

    def encrypt(self, tenant_id: str, plaintext: bytes, context: bytes = b"") -> bytes:
        """Encrypt for ``tenant_id``; ``context`` (e.g. a record id) must match on decrypt."""
        nonce = os.urandom(NONCE_BYTES)
        sealed = self._key(tenant_id).encrypt(nonce, plaintext, tenant_id.encode() + context)
        return VERSION + nonce + sealed

    def decrypt(self, tenant_id: str, ciphertext: bytes, context: bytes = b"") -> bytes:
        """The plaintext; DecryptionFailed if tampered with, or of another tenant or context."""
        if len(ciphertext) < 1 + NONCE_BYTES + 16 or ciphertext[:1] != VERSION:
            raise DecryptionFailed("ciphertext is truncated or of an unknown format")
        nonce, sealed = ciphertext[1 : 1 + NONCE_BYTES], ciphertext[1 + NONCE_BYTES :]
        try:
            return self._key(tenant_id).decrypt(nonce, sealed, tenant_id.encode() + context)
        except InvalidTag as exc:
            raise DecryptionFailed(
                "ciphertext does not authenticate: tampered with, or of another tenant or context"
            ) from exc
