"""Bundle uploads against the server's request-body limit (``server.max_body_bytes``), which
Quart applies to every route: a bundle the registry would accept but the server cannot receive
is refused with a 413 that names the setting to raise, and nothing is stored."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import httpx
import pytest
import wasmtime

from abi.config import Settings, load_settings
from helpers.plugin_bundles import make_bundle, plugin_wat, register_key

BODY_LIMIT = 4096


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return load_settings(
        environ={},
        overrides={"data_dir": tmp_path / "data", "server": {"max_body_bytes": BODY_LIMIT}},
    )


def _leb128(n: int) -> bytes:
    out = bytearray()
    while True:
        byte, n = n & 0x7F, n >> 7
        out.append(byte | (0x80 if n else 0))
        if not n:
            return bytes(out)


def _padded_module(padding: int) -> bytes:
    """A valid test module with a custom section of ``padding`` random (incompressible) bytes."""
    name = b"padding"
    payload = _leb128(len(name)) + name + os.urandom(padding)
    wasm = bytes(wasmtime.wat2wasm(plugin_wat("1.0.0")))
    return wasm + b"\x00" + _leb128(len(payload)) + payload


def test_a_bundle_over_the_body_limit_is_413_naming_the_setting(
    live_server: Any, platform_admin: Any
) -> None:
    key = register_key(live_server.platform.plugins.registry)
    data = make_bundle("echo", "1.0.0", key, module=_padded_module(2 * BODY_LIMIT))
    assert len(data) < live_server.platform.plugins.registry.max_bundle_bytes
    response = httpx.post(
        f"{live_server.url}/api/v1/plugins",
        content=data,
        headers={**platform_admin.headers(), "Content-Type": "application/octet-stream"},
    )
    assert response.status_code == 413
    error = response.json()["error"]
    assert error["code"] == "payload_too_large"
    assert "server.max_body_bytes" in error["message"]
    assert f"{BODY_LIMIT} bytes" in error["message"]
    assert "plugins.max_module_bytes" in error["message"]
    listed = httpx.get(f"{live_server.url}/api/v1/plugins", headers=platform_admin.headers())
    assert listed.json()["plugins"] == []
