"""Dev mode: watch a plugin folder and put every change live for one tenant.

On each change (watchfiles) the folder is bundled, given a development version
``<version>-dev.<n>`` (``n`` grows with every build, so every build is a distinct, kept
version that sorts after the previous one), signed with the developer's key, published, and
installed for the tenant with the requested capabilities granted. The installation's revision
moves, so every process serving the tenant swaps in the new build on its next call; calls in
flight finish on the previous one. A build that fails (a half-written module, a manifest
error) is reported and the previous build stays live.

The target is either the local :class:`~abi.plugins.service.PluginService`
(:class:`LocalTarget`) or a server over HTTP (``abi plugin dev --server``).
"""

from __future__ import annotations

import logging
import re
import threading
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import watchfiles
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from abi.errors import AbiError, Conflict, InvalidInput
from abi.plugins.bundle import Bundle
from abi.plugins.manifest import parse_manifest
from abi.plugins.signing import public_key_id
from abi.plugins.versions import parse_version

log = logging.getLogger("abi.plugins.devmode")

_VERSION_LINE = re.compile(r"""^(\s*version\s*=\s*)(["'])([^"']*)\2(\s*(#.*)?)$""")


class DevTarget(Protocol):
    """Where dev builds go: publish a bundle, register the dev key, install for the tenant."""

    def add_publisher(self, public_key: str, name: str) -> None:
        """Register ``public_key`` for the tenant (already registered is fine)."""
        ...

    def publish(self, data: bytes) -> None: ...

    def install(self, name: str, version: str, grants: Mapping[str, Mapping[str, Any]]) -> None: ...


@dataclass(frozen=True)
class DevBuild:
    """One successful dev build."""

    name: str
    version: str
    module_sha256: str


def with_dev_version(manifest_text: str, version: str) -> str:
    """``manifest_text`` with its top-level ``version`` replaced (tables left untouched)."""
    lines = manifest_text.splitlines(keepends=True)
    for index, line in enumerate(lines):
        if line.lstrip().startswith("["):
            break
        match = _VERSION_LINE.match(line.rstrip("\r\n"))
        if match:
            ending = line[len(line.rstrip("\r\n")) :]
            quote = match.group(2)
            lines[index] = f"{match.group(1)}{quote}{version}{quote}{match.group(4)}{ending}"
            return "".join(lines)
    raise InvalidInput("plugin.toml has no top-level version line to rewrite for dev builds")


def dev_version(base: str, build: int) -> str:
    """``1.2.0`` -> ``1.2.0-dev.<build>``; ``1.2.0-rc.1`` -> ``1.2.0-rc.1.dev.<build>``."""
    parsed = parse_version(base)
    core = f"{parsed.major}.{parsed.minor}.{parsed.patch}"
    pre = f"{parsed.prerelease}.dev.{build}" if parsed.prerelease else f"dev.{build}"
    return f"{core}-{pre}"


class DevSession:
    """Builds, publishes and installs a plugin folder for one tenant, once or on every change."""

    def __init__(
        self,
        folder: Path,
        target: DevTarget,
        key: Ed25519PrivateKey,
        *,
        grants: Iterable[str] | None = None,
        max_module_bytes: int = 32 * 1024 * 1024,
    ) -> None:
        self.folder = folder
        self.target = target
        self.key = key
        self.grants = None if grants is None else sorted(set(grants))
        self.max_module_bytes = max_module_bytes
        self._registered = False
        self._last_build = 0

    def _next_build(self) -> int:
        # Milliseconds: distinct and increasing across sessions of the same developer.
        build = max(int(time.time() * 1000), self._last_build + 1)
        self._last_build = build
        return build

    def push(self) -> DevBuild:
        """Bundle the folder as a new dev version, publish it and install it."""
        source = Bundle.from_folder(self.folder, max_module_bytes=self.max_module_bytes)
        version = dev_version(source.manifest.version, self._next_build())
        text = with_dev_version(source.manifest_bytes.decode("utf-8"), version).encode("utf-8")
        manifest = parse_manifest(text)
        if manifest.version != version:
            raise InvalidInput("plugin.toml's version could not be rewritten for a dev build")
        bundle = Bundle(manifest, text, source.module)
        if not self._registered:
            self.target.add_publisher(public_key_id(self.key), f"dev key for {manifest.name}")
            self._registered = True
        self.target.publish(bundle.pack(self.key))
        requested = set(manifest.capabilities)
        names = requested if self.grants is None else requested & set(self.grants)
        grants = {name: dict(manifest.capabilities[name]) for name in sorted(names)}
        self.target.install(manifest.name, version, grants)
        log.info("dev build %s@%s is live", manifest.name, version)
        return DevBuild(manifest.name, version, bundle.module_sha256)

    def watch(
        self,
        *,
        stop: threading.Event | None = None,
        on_build: Callable[[DevBuild], None] | None = None,
        on_error: Callable[[AbiError], None] | None = None,
        initial: bool = True,
    ) -> None:
        """Push now (``initial``) and after every change in the folder until ``stop`` is set.
        A failing build goes to ``on_error`` and the previous build stays live."""

        def attempt() -> None:
            try:
                build = self.push()
            except AbiError as exc:
                log.warning("dev build failed: %s", exc.message)
                if on_error is not None:
                    on_error(exc)
                return
            if on_build is not None:
                on_build(build)

        if initial:
            attempt()
        for _changes in watchfiles.watch(
            self.folder, stop_event=stop, debounce=200, step=50, raise_interrupt=False
        ):
            attempt()


class LocalTarget:
    """A :class:`DevTarget` on this process's plugin service, for one tenant."""

    def __init__(self, service: Any, tenant_id: str, *, actor: str = "devmode") -> None:
        self.service = service
        self.tenant_id = tenant_id
        self.actor = actor

    def add_publisher(self, public_key: str, name: str) -> None:
        try:
            self.service.add_publisher(self.tenant_id, public_key, name, actor=self.actor)
        except Conflict:
            return

    def publish(self, data: bytes) -> None:
        self.service.publish(data, uploader=self.tenant_id, actor=self.actor)

    def install(self, name: str, version: str, grants: Mapping[str, Mapping[str, Any]]) -> None:
        self.service.install(self.tenant_id, name, version, grants=grants, actor=self.actor)
