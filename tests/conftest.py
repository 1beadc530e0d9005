"""Fixtures shared by every suite."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from abi.config import Settings, load_settings
from abi.runtime import Platform


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    """Settings with a private data directory and no influence from the caller's ABI_* env."""
    return load_settings(environ={}, overrides={"data_dir": tmp_path / "data"})


@pytest.fixture
def platform(settings: Settings) -> Iterator[Platform]:
    """A started Platform on a private data directory."""
    with Platform(settings) as started:
        yield started


@dataclass
class LiveServer:
    """A real Hypercorn serving ``platform`` on 127.0.0.1 (``url`` has no trailing slash)."""

    url: str
    platform: Platform


@pytest.fixture
def live_server(platform: Platform) -> Iterator[LiveServer]:
    """The API served over loopback from a background thread of the test process."""
    from abi.server.app import create_app
    from abi.server.embedded import ServerThread

    server = ServerThread(create_app(platform)).start()
    try:
        yield LiveServer(server.url, platform)
    finally:
        server.stop()


@dataclass
class TenantHandle:
    """A tenant with its tenant-admin client; ``token``/``headers`` mint access tokens."""

    platform: Platform
    tenant_id: str
    client_id: str
    client_secret: str
    _tokens: dict[str | None, str] = field(default_factory=dict, repr=False)

    def token(self, scopes: str | None = None) -> str:
        """A bearer token for this tenant's admin client, limited to ``scopes`` if given."""
        if scopes not in self._tokens:
            security = self.platform.security
            client = security.clients.get(self.tenant_id, self.client_id)
            self._tokens[scopes] = security.tokens.issue(client, scopes)["access_token"]
        return self._tokens[scopes]

    def headers(self, scopes: str | None = None) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token(scopes)}"}


@pytest.fixture
def tenant_factory(platform: Platform) -> Callable[[str], TenantHandle]:
    """``tenant_factory("acme")`` creates tenant acme and returns its TenantHandle."""

    def make(name: str) -> TenantHandle:
        issued = platform.security.create_tenant(name, actor="test")
        return TenantHandle(
            platform, issued.tenant.id, issued.client.client_id, issued.client_secret
        )

    return make


@pytest.fixture
def platform_admin(platform: Platform) -> TenantHandle:
    """The bootstrap platform-admin client (scope ``admin`` and every other scope)."""
    issued = platform.security.bootstrap_admin()
    assert issued is not None, "the platform already had clients"
    return TenantHandle(platform, issued.tenant.id, issued.client.client_id, issued.client_secret)
