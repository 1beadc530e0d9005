"""Per-tenant data keys wrapped by the master key."""

from __future__ import annotations

import base64
import os
from pathlib import Path

import pytest
import sqlalchemy as sa

from abi.errors import ConfigError
from abi.runtime import Platform
from abi.security.crypto import DataKeys, DecryptionFailed, load_master_key
from abi.security.tables import tenant_keys


def test_round_trip(platform: Platform) -> None:
    sealed = platform.security.encrypt("t_a", b"api-token-123")
    assert b"api-token-123" not in sealed
    assert platform.security.decrypt("t_a", sealed) == b"api-token-123"


def test_another_tenant_cannot_decrypt(platform: Platform) -> None:
    sealed = platform.security.encrypt("t_a", b"secret")
    with pytest.raises(DecryptionFailed):
        platform.security.decrypt("t_b", sealed)


def test_context_must_match(platform: Platform) -> None:
    sealed = platform.security.encrypt("t_a", b"secret", b"record-1")
    with pytest.raises(DecryptionFailed):
        platform.security.decrypt("t_a", sealed, b"record-2")


def test_tampering_is_detected(platform: Platform) -> None:
    sealed = bytearray(platform.security.encrypt("t_a", b"secret"))
    sealed[-1] ^= 1
    with pytest.raises(DecryptionFailed):
        platform.security.decrypt("t_a", bytes(sealed))


def test_truncated_ciphertext_is_refused(platform: Platform) -> None:
    with pytest.raises(DecryptionFailed):
        platform.security.decrypt("t_a", b"\x01short")


def test_data_keys_are_stored_wrapped(platform: Platform) -> None:
    platform.security.encrypt("t_a", b"x")
    with platform.db.begin() as conn:
        wrapped = conn.execute(sa.select(tenant_keys.c.wrapped_key)).scalar_one()
    assert len(wrapped) == 12 + 32 + 16


def test_a_different_master_key_cannot_unwrap(platform: Platform) -> None:
    sealed = platform.security.encrypt("t_a", b"secret")
    other = DataKeys(platform.db, os.urandom(32))
    with pytest.raises(DecryptionFailed, match="master key"):
        other.decrypt("t_a", sealed)


def test_master_key_file_is_created_once_with_private_mode(tmp_path: Path) -> None:
    first = load_master_key(None, tmp_path)
    assert load_master_key(None, tmp_path) == first
    assert (tmp_path / "master.key").stat().st_mode & 0o777 == 0o600


def test_configured_master_key_is_used(tmp_path: Path) -> None:
    key = os.urandom(32)
    assert load_master_key(base64.b64encode(key).decode(), tmp_path) == key
    assert not (tmp_path / "master.key").exists()


@pytest.mark.parametrize("bad", ["not base64!", base64.b64encode(b"short").decode()])
def test_a_bad_master_key_is_a_config_error(tmp_path: Path, bad: str) -> None:
    with pytest.raises(ConfigError) as exc:
        load_master_key(bad, tmp_path)
    assert exc.value.details["key"] == "security.master_key"
