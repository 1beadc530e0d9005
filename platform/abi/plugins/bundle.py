"""Plugin bundles: one zip file holding ``plugin.toml``, the module and ``signature.json``.

Build one from a plugin folder with :meth:`Bundle.from_folder`, sign and write it with
:meth:`Bundle.pack`, read one with :meth:`Bundle.from_bytes` and check it with :func:`verify`.
Reading never trusts the archive: member names, counts and sizes are checked before anything
is decompressed.
"""

from __future__ import annotations

import io
import zipfile
from collections.abc import Iterable
from dataclasses import dataclass, replace
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from abi.plugins.errors import BundleMalformed, ModuleTooLarge, SignatureInvalid
from abi.plugins.manifest import MAX_MANIFEST_BYTES, Manifest, parse_manifest
from abi.plugins.signing import Signature, check_trusted, sha256_hex

MANIFEST_NAME = "plugin.toml"
SIGNATURE_NAME = "signature.json"
BUNDLE_SUFFIX = ".abi"
DEFAULT_MAX_MODULE_BYTES = 32 * 1024 * 1024
_ZIP_TIME = (1980, 1, 1, 0, 0, 0)


@dataclass(frozen=True)
class Bundle:
    """A plugin's manifest and module, with the publisher's signature when signed."""

    manifest: Manifest
    manifest_bytes: bytes
    module: bytes
    signature: Signature | None = None

    @property
    def module_sha256(self) -> str:
        """Hex SHA-256 of the module bytes."""
        return sha256_hex(self.module)

    @property
    def manifest_sha256(self) -> str:
        """Hex SHA-256 of the manifest bytes as stored in the bundle."""
        return sha256_hex(self.manifest_bytes)

    @classmethod
    def from_folder(
        cls, path: Path | str, *, max_module_bytes: int = DEFAULT_MAX_MODULE_BYTES
    ) -> Bundle:
        """A plugin folder: ``plugin.toml``, the built module it names and, when present, a
        detached ``signature.json`` (not verified here: see :func:`verify`)."""
        folder = Path(path)
        manifest_path = folder / MANIFEST_NAME
        if not manifest_path.is_file():
            raise BundleMalformed(f"{folder} has no {MANIFEST_NAME}")
        manifest_bytes = manifest_path.read_bytes()
        manifest = parse_manifest(manifest_bytes)
        module_path = folder / manifest.module
        if not module_path.is_file():
            raise BundleMalformed(
                f"{folder} has no {manifest.module} (build the plugin first, or set 'module' "
                "in plugin.toml)"
            )
        size = module_path.stat().st_size
        if size > max_module_bytes:
            raise ModuleTooLarge(f"{module_path} is {size} bytes; the limit is {max_module_bytes}")
        signature_path = folder / SIGNATURE_NAME
        signature = (
            Signature.from_json(signature_path.read_bytes()) if signature_path.is_file() else None
        )
        return cls(manifest, manifest_bytes, module_path.read_bytes(), signature)

    @classmethod
    def from_bytes(cls, data: bytes, *, max_module_bytes: int = DEFAULT_MAX_MODULE_BYTES) -> Bundle:
        """Parse a bundle file; BundleMalformed on anything but the three expected members."""
        try:
            archive = zipfile.ZipFile(io.BytesIO(data))
        except (zipfile.BadZipFile, ValueError) as exc:
            raise BundleMalformed(f"not a plugin bundle (zip): {exc}") from exc
        with archive:
            infos = archive.infolist()
            if len(infos) > 3:
                raise BundleMalformed(f"a bundle holds 3 files; this one holds {len(infos)}")
            members = {info.filename: info for info in infos}
            if len(members) != len(infos):
                raise BundleMalformed("the bundle has duplicate member names")
            manifest_bytes = _read(archive, members, MANIFEST_NAME, MAX_MANIFEST_BYTES)
            manifest = parse_manifest(manifest_bytes)
            expected = {MANIFEST_NAME, SIGNATURE_NAME, manifest.module}
            extra = sorted(set(members) - expected)
            if extra:
                raise BundleMalformed(f"unexpected file {extra[0]!r} in the bundle")
            if manifest.module not in members:
                raise BundleMalformed(f"the bundle has no {manifest.module}")
            if members[manifest.module].file_size > max_module_bytes:
                raise ModuleTooLarge(
                    f"{manifest.module} is {members[manifest.module].file_size} bytes; "
                    f"the limit is {max_module_bytes}"
                )
            module = _read(archive, members, manifest.module, max_module_bytes)
            signature = None
            if SIGNATURE_NAME in members:
                signature = Signature.from_json(_read(archive, members, SIGNATURE_NAME, 64 * 1024))
        return cls(manifest, manifest_bytes, module, signature)

    @classmethod
    def from_path(
        cls, path: Path | str, *, max_module_bytes: int = DEFAULT_MAX_MODULE_BYTES
    ) -> Bundle:
        """A plugin folder or a bundle file."""
        target = Path(path)
        if target.is_dir():
            return cls.from_folder(target, max_module_bytes=max_module_bytes)
        if not target.is_file():
            raise BundleMalformed(f"{target} is neither a plugin folder nor a bundle file")
        if target.stat().st_size > max_module_bytes + 2 * MAX_MANIFEST_BYTES:
            raise ModuleTooLarge(f"{target} is larger than a bundle may be")
        return cls.from_bytes(target.read_bytes(), max_module_bytes=max_module_bytes)

    def signed(self, key: Ed25519PrivateKey) -> Bundle:
        """This bundle with a fresh signature by ``key``."""
        return replace(self, signature=Signature.create(key, self.manifest_bytes, self.module))

    def to_bytes(self) -> bytes:
        """The bundle file (deterministic for the same content and signature)."""
        out = io.BytesIO()
        with zipfile.ZipFile(out, "w", compression=zipfile.ZIP_DEFLATED) as archive:
            entries = [(MANIFEST_NAME, self.manifest_bytes), (self.manifest.module, self.module)]
            if self.signature is not None:
                entries.append((SIGNATURE_NAME, self.signature.to_json()))
            for name, content in entries:
                info = zipfile.ZipInfo(name, date_time=_ZIP_TIME)
                info.compress_type = zipfile.ZIP_DEFLATED
                info.external_attr = 0o644 << 16
                archive.writestr(info, content)
        return out.getvalue()

    def pack(self, private_key: Ed25519PrivateKey) -> bytes:
        """Sign with ``private_key`` and return the bundle file's bytes."""
        return self.signed(private_key).to_bytes()


def _read(
    archive: zipfile.ZipFile, members: dict[str, zipfile.ZipInfo], name: str, cap: int
) -> bytes:
    info = members.get(name)
    if info is None:
        raise BundleMalformed(f"the bundle has no {name}")
    if info.file_size > cap:
        raise BundleMalformed(f"{name} is {info.file_size} bytes; the limit is {cap}")
    try:
        with archive.open(info) as member:
            data = member.read(cap + 1)
    except (zipfile.BadZipFile, OSError, EOFError, ValueError) as exc:
        raise BundleMalformed(f"{name} cannot be read from the bundle: {exc}") from exc
    if len(data) > cap:
        raise BundleMalformed(f"{name} is larger than its declared size")
    return data


def verify_integrity(bundle: Bundle) -> Signature:
    """Check that the bundle is signed and that the signature matches its content."""
    if bundle.signature is None:
        raise SignatureInvalid("the bundle is not signed (sign it with `abi plugin sign`)")
    bundle.signature.verify(bundle.manifest_bytes, bundle.module)
    return bundle.signature


def verify(bundle: Bundle, trusted_keys: Iterable[str | Ed25519PublicKey]) -> Signature:
    """Integrity plus trust: the signer must be one of ``trusted_keys``.

    Raises ``plugin.signature_invalid`` (unsigned, tampered, bad signature) or
    ``plugin.unknown_publisher``.
    """
    signature = verify_integrity(bundle)
    check_trusted(signature.publisher, trusted_keys)
    return signature
