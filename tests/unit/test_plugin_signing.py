"""Bundles and Ed25519 signatures: round trip, tampering, trust, malformed archives."""

from __future__ import annotations

import io
import json
import zipfile
from pathlib import Path

import pytest

from abi.plugins.bundle import Bundle, verify, verify_integrity
from abi.plugins.errors import BundleMalformed, ModuleTooLarge, SignatureInvalid, UnknownPublisher
from abi.plugins.signing import (
    generate_key,
    load_private_key,
    public_key_id,
    save_private_key,
)

MANIFEST = b'name = "demo"\nversion = "1.0.0"\n'
MODULE = b"\x00asm\x01\x00\x00\x00"


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    (tmp_path / "plugin.toml").write_bytes(MANIFEST)
    (tmp_path / "plugin.wasm").write_bytes(MODULE)
    return tmp_path


@pytest.fixture
def packed(folder: Path) -> bytes:
    """The folder as a bundle signed by a fresh key."""
    return Bundle.from_folder(folder).pack(generate_key())


def _rezip(data: bytes, change: dict[str, bytes | None]) -> bytes:
    source = zipfile.ZipFile(io.BytesIO(data))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as target:
        for info in source.infolist():
            content = change.get(info.filename, source.read(info))
            if content is not None:
                target.writestr(info.filename, content)
        for name, content in change.items():
            if name not in source.namelist() and content is not None:
                target.writestr(name, content)
    return out.getvalue()


def test_pack_and_verify_round_trip(folder: Path) -> None:
    key = generate_key()
    bundle = Bundle.from_bytes(Bundle.from_folder(folder).pack(key))
    assert (bundle.manifest.name, bundle.module) == ("demo", MODULE)
    assert verify(bundle, [public_key_id(key)]).publisher == public_key_id(key)


def test_packing_is_deterministic(folder: Path) -> None:
    bundle = Bundle.from_folder(folder).signed(generate_key())
    assert bundle.to_bytes() == bundle.to_bytes()


@pytest.mark.parametrize("member", ["plugin.wasm", "plugin.toml"])
def test_tampered_content_fails(packed: bytes, member: str) -> None:
    changed = MODULE + b"\x00" if member == "plugin.wasm" else MANIFEST + b"# changed\n"
    with pytest.raises(SignatureInvalid):
        verify_integrity(Bundle.from_bytes(_rezip(packed, {member: changed})))


def test_signature_by_another_key_fails(packed: bytes) -> None:
    sig = json.loads(zipfile.ZipFile(io.BytesIO(packed)).read("signature.json"))
    sig["publisher"] = public_key_id(generate_key())
    with pytest.raises(SignatureInvalid):
        verify_integrity(
            Bundle.from_bytes(_rezip(packed, {"signature.json": json.dumps(sig).encode()}))
        )


def test_unknown_publisher(packed: bytes) -> None:
    with pytest.raises(UnknownPublisher):
        verify(Bundle.from_bytes(packed), [public_key_id(generate_key())])


def test_unsigned_bundle_fails_verification(folder: Path) -> None:
    with pytest.raises(SignatureInvalid):
        verify_integrity(Bundle.from_bytes(Bundle.from_folder(folder).to_bytes()))


@pytest.mark.parametrize(
    "change",
    [
        {"extra.txt": b"x"},
        {"plugin.wasm": None},
        {"plugin.toml": None},
        {"signature.json": b"{not json"},
    ],
)
def test_malformed_bundles(packed: bytes, change: dict[str, bytes | None]) -> None:
    with pytest.raises(BundleMalformed):
        Bundle.from_bytes(_rezip(packed, change))


def test_not_a_zip() -> None:
    with pytest.raises(BundleMalformed):
        Bundle.from_bytes(b"definitely not a zip")


def test_module_size_cap(folder: Path) -> None:
    (folder / "plugin.wasm").write_bytes(MODULE + bytes(5000))
    data = Bundle.from_folder(folder).pack(generate_key())
    with pytest.raises(ModuleTooLarge):
        Bundle.from_bytes(data, max_module_bytes=1024)
    with pytest.raises(ModuleTooLarge):
        Bundle.from_folder(folder, max_module_bytes=1024)


def test_folder_without_module(tmp_path: Path) -> None:
    (tmp_path / "plugin.toml").write_bytes(MANIFEST)
    with pytest.raises(BundleMalformed):
        Bundle.from_folder(tmp_path)


def test_private_key_file_round_trip(tmp_path: Path) -> None:
    key = generate_key()
    save_private_key(key, tmp_path / "k")
    assert (tmp_path / "k").stat().st_mode & 0o777 == 0o600
    assert public_key_id(load_private_key(tmp_path / "k")) == public_key_id(key)
    with pytest.raises(FileExistsError):
        save_private_key(key, tmp_path / "k")
