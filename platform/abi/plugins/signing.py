"""Ed25519 publisher keys and detached bundle signatures.

A signature covers the SHA-256 digests of the manifest bytes and the module bytes (never the
signature file itself). A publisher is identified by its raw public key in base64, the same
form ``plugins.trusted_publishers`` lists.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import os
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from abi.plugins.errors import BundleMalformed, SignatureInvalid, UnknownPublisher

SIGNATURE_VERSION = 1
ALGORITHM = "ed25519"
_DOMAIN = b"abi-bundle-signature-v1\n"


def sha256_hex(data: bytes) -> str:
    """Hex SHA-256 of ``data``."""
    return hashlib.sha256(data).hexdigest()


def generate_key() -> Ed25519PrivateKey:
    """A new publisher signing key."""
    return Ed25519PrivateKey.generate()


def public_key_id(key: Ed25519PublicKey | Ed25519PrivateKey) -> str:
    """The base64 raw public key that names a publisher."""
    public = key.public_key() if isinstance(key, Ed25519PrivateKey) else key
    raw = public.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return base64.b64encode(raw).decode("ascii")


def load_public_key(key_id: str) -> Ed25519PublicKey:
    """Parse a base64 raw public key; SignatureInvalid when it is not one."""
    try:
        raw = base64.b64decode(key_id.strip(), validate=True)
        return Ed25519PublicKey.from_public_bytes(raw)
    except (binascii.Error, ValueError) as exc:
        raise SignatureInvalid(
            f"{key_id[:60]!r} is not a base64 Ed25519 public key (32 bytes)"
        ) from exc


def private_key_pem(key: Ed25519PrivateKey) -> bytes:
    """The key as unencrypted PKCS#8 PEM."""
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )


def save_private_key(key: Ed25519PrivateKey, path: Path) -> None:
    """Write the key as PKCS#8 PEM, readable by the owner only; refuses to overwrite."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as out:
        out.write(private_key_pem(key))


def load_private_key(path: Path) -> Ed25519PrivateKey:
    """Read a PKCS#8 PEM Ed25519 private key written by :func:`save_private_key`."""
    try:
        key = serialization.load_pem_private_key(path.read_bytes(), password=None)
    except (OSError, ValueError, TypeError) as exc:
        raise SignatureInvalid(f"{path} is not a readable Ed25519 private key: {exc}") from exc
    if not isinstance(key, Ed25519PrivateKey):
        raise SignatureInvalid(f"{path} holds a key that is not Ed25519")
    return key


def _message(manifest_sha256: str, module_sha256: str) -> bytes:
    return _DOMAIN + f"manifest {manifest_sha256}\nmodule {module_sha256}\n".encode("ascii")


@dataclass(frozen=True)
class Signature:
    """The content of ``signature.json``."""

    publisher: str
    manifest_sha256: str
    module_sha256: str
    signature: str

    @classmethod
    def create(cls, key: Ed25519PrivateKey, manifest: bytes, module: bytes) -> Signature:
        """Sign the digests of ``manifest`` and ``module`` with ``key``."""
        m_hex, w_hex = sha256_hex(manifest), sha256_hex(module)
        sig = key.sign(_message(m_hex, w_hex))
        return cls(public_key_id(key), m_hex, w_hex, base64.b64encode(sig).decode("ascii"))

    def to_json(self) -> bytes:
        """The signature.json document."""
        body = {
            "version": SIGNATURE_VERSION,
            "algorithm": ALGORITHM,
            "publisher": self.publisher,
            "manifest_sha256": self.manifest_sha256,
            "module_sha256": self.module_sha256,
            "signature": self.signature,
        }
        return json.dumps(body, indent=2, sort_keys=True).encode("utf-8") + b"\n"

    @classmethod
    def from_json(cls, data: bytes) -> Signature:
        """Parse ``signature.json``; BundleMalformed when a field is missing or wrong."""
        try:
            body: Any = json.loads(data)
        except (UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise BundleMalformed(f"signature.json is not JSON: {exc}") from exc
        if not isinstance(body, dict):
            raise BundleMalformed("signature.json must be a JSON object")
        if body.get("version") != SIGNATURE_VERSION or body.get("algorithm") != ALGORITHM:
            raise BundleMalformed(
                f"signature.json must have version {SIGNATURE_VERSION} and algorithm {ALGORITHM!r}"
            )
        fields = ("publisher", "manifest_sha256", "module_sha256", "signature")
        missing = [f for f in fields if not isinstance(body.get(f), str)]
        if missing:
            raise BundleMalformed(f"signature.json: {missing[0]} is missing or not a string")
        return cls(*(body[f] for f in fields))

    def verify(self, manifest: bytes, module: bytes) -> None:
        """Check digests and the signature against the embedded publisher key."""
        if sha256_hex(manifest) != self.manifest_sha256:
            raise SignatureInvalid(
                "plugin.toml does not match the signed digest: it changed after signing "
                "(tampered, or edited: sign it again with `abi plugin sign`)"
            )
        if sha256_hex(module) != self.module_sha256:
            raise SignatureInvalid(
                "the module does not match the signed digest: it changed after signing "
                "(tampered, or rebuilt: sign it again with `abi plugin sign`)"
            )
        public = load_public_key(self.publisher)
        try:
            raw = base64.b64decode(self.signature, validate=True)
            public.verify(raw, _message(self.manifest_sha256, self.module_sha256))
        except (binascii.Error, InvalidSignature) as exc:
            raise SignatureInvalid("the bundle signature does not verify") from exc


def check_trusted(publisher: str, trusted_keys: Iterable[str | Ed25519PublicKey]) -> None:
    """UnknownPublisher unless ``publisher`` is one of ``trusted_keys``."""
    trusted = {k if isinstance(k, str) else public_key_id(k) for k in trusted_keys}
    if publisher.strip() not in {k.strip() for k in trusted}:
        raise UnknownPublisher(
            f"publisher key {publisher} is not trusted; register it or add it to "
            "plugins.trusted_publishers",
            publisher=publisher,
        )
