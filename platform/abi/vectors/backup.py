"""Backup archives: a tar of collection snapshots plus ``manifest.json`` with sha256 sums.

Layout: ``collections/<name>/<file>`` for each file of the collection's snapshot, then
``manifest.json`` (format, tenant, time, and per collection its config, WAL position and the
size and sha256 of every file). Restore extracts into a temporary directory and verifies the
manifest, every checksum and that nothing else is in the archive before installing anything.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import shutil
import tarfile
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from abi.vectors.collection import Collection
from abi.vectors.config import CollectionConfig, check_config
from abi.vectors.errors import BackupCorrupt, VectorInputError
from abi.vectors.wal import fsync_dir

FORMAT = "wdbx-backup"
VERSION = 1
MANIFEST = "manifest.json"
MAX_DIMENSION = 1 << 16


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def write_archive(target: Path, tenant_id: str, collections: list[Collection]) -> dict[str, Any]:
    """Snapshot each collection and archive the snapshots; returns the manifest."""
    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    manifest: dict[str, Any] = {
        "format": FORMAT,
        "version": VERSION,
        "tenant_id": tenant_id,
        "created_at": datetime.now(UTC).isoformat(),
        "collections": [],
    }
    fd, tmp_name = tempfile.mkstemp(dir=target.parent, prefix=".backup-", suffix=".tar")
    os.close(fd)
    try:
        with tarfile.open(tmp_name, "w") as tar:
            for collection in collections:
                with collection.lock:  # keeps the snapshot from being pruned while read
                    snap = collection.snapshot()
                    assert snap is not None
                    meta = json.loads((snap / "meta.json").read_text(encoding="utf-8"))
                    files = {}
                    for name in [*meta["files"], "meta.json"]:
                        path = snap / name
                        files[name] = {"sha256": _sha256(path), "size": path.stat().st_size}
                        tar.add(path, arcname=f"collections/{collection.config.name}/{name}")
                manifest["collections"].append(
                    {
                        "name": collection.config.name,
                        "config": collection.config.to_dict(),
                        "seq": meta["seq"],
                        "count": meta["count"],
                        "files": files,
                    }
                )
            data = json.dumps(manifest, indent=1).encode()
            info = tarfile.TarInfo(MANIFEST)
            info.size = len(data)
            info.mtime = int(datetime.now(UTC).timestamp())
            tar.addfile(info, io.BytesIO(data))
        with open(tmp_name, "rb") as handle:
            os.fsync(handle.fileno())
        os.replace(tmp_name, target)
        fsync_dir(target.parent)
    except BaseException:
        Path(tmp_name).unlink(missing_ok=True)
        raise
    return manifest


@dataclass
class StagedRestore:
    """A verified, extracted archive waiting to be installed."""

    root: Path
    manifest: dict[str, Any]
    configs: list[CollectionConfig]

    def install(self, name: str, directory: Path) -> None:
        """Place the collection's snapshot so that opening ``directory`` loads it."""
        entry = next(c for c in self.manifest["collections"] if c["name"] == name)
        dest = directory / "snapshots" / f"{int(entry['seq']):020d}"
        dest.parent.mkdir(parents=True, exist_ok=True)
        shutil.copytree(self.root / "collections" / name, dest)
        fsync_dir(dest.parent)


@contextmanager
def read_archive(path: Path) -> Iterator[StagedRestore]:
    """Extract and verify an archive; raises BackupCorrupt on any damage."""
    path = Path(path)
    if not path.is_file():
        raise VectorInputError(f"backup archive {path} does not exist")
    with tempfile.TemporaryDirectory(prefix="wdbx-restore-") as tmp:
        root = Path(tmp)
        manifest = _extract(path, root)
        configs = _verify(root, manifest)
        yield StagedRestore(root, manifest, configs)


def _extract(path: Path, root: Path) -> dict[str, Any]:
    try:
        with tarfile.open(path, "r") as tar:
            members = tar.getmembers()
            for member in members:
                parts = Path(member.name).parts
                if not member.isfile() or ".." in parts or Path(member.name).is_absolute():
                    raise BackupCorrupt(f"archive member {member.name!r} is not allowed")
            tar.extractall(root, filter="data")
    except (tarfile.TarError, OSError, EOFError) as exc:
        raise BackupCorrupt(f"{path} is not a readable backup archive: {exc}") from exc
    try:
        manifest: dict[str, Any] = json.loads((root / MANIFEST).read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise BackupCorrupt(f"{path} has no valid {MANIFEST}") from exc
    if manifest.get("format") != FORMAT or manifest.get("version") != VERSION:
        raise BackupCorrupt(f"{path} is not a WDBX backup (format {FORMAT} v{VERSION})")
    return manifest


def _verify(root: Path, manifest: dict[str, Any]) -> list[CollectionConfig]:
    expected = {MANIFEST}
    configs = []
    try:
        for entry in manifest["collections"]:
            raw = entry["config"]
            config = check_config(raw, MAX_DIMENSION)
            if config.name != entry["name"]:
                raise BackupCorrupt("manifest names disagree with their configs")
            for name, info in entry["files"].items():
                rel = f"collections/{config.name}/{name}"
                file = root / rel
                if not file.is_file() or file.stat().st_size != info["size"]:
                    raise BackupCorrupt(f"archive file {rel} is missing or truncated")
                if _sha256(file) != info["sha256"]:
                    raise BackupCorrupt(f"archive file {rel} fails its sha256 checksum")
                expected.add(rel)
            configs.append(config)
    except (KeyError, TypeError, VectorInputError) as exc:
        if isinstance(exc, BackupCorrupt):
            raise
        raise BackupCorrupt(f"backup manifest is malformed: {exc}") from exc
    present = {str(p.relative_to(root)) for p in root.rglob("*") if p.is_file()}
    if present != expected:
        raise BackupCorrupt(f"archive holds unexpected files: {sorted(present - expected)}")
    return configs
