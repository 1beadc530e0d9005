"""Generating and hashing high-entropy secrets (client secrets, API keys).

Secrets are 256-bit random values made here, so a fast keyed hash is enough: an attacker who
reads the database cannot brute-force them, and verifying one costs microseconds rather than
the tens of milliseconds a password hash would add to every token request.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets


def new_secret(prefix: str = "") -> str:
    """A fresh URL-safe secret with 256 bits of entropy."""
    return prefix + secrets.token_urlsafe(32)


def new_id(prefix: str, nbytes: int = 12) -> str:
    return prefix + secrets.token_hex(nbytes)


def hash_secret(secret: str) -> str:
    """The stored form of a secret: ``sha256:<hex>``."""
    return "sha256:" + hashlib.sha256(secret.encode("utf-8")).hexdigest()


def verify_secret(secret: str, stored: str) -> bool:
    """Constant-time comparison of ``secret`` against its stored hash."""
    return hmac.compare_digest(hash_secret(secret), stored)
