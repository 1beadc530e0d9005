"""End to end through the public API, with the first-party plugins of wasm-plugins/: a
publisher key is registered, each plugin is signed, uploaded, installed with its requested
capabilities granted, reproduces its examples/ over HTTP, shows up in the metrics, and is
uninstalled."""

from __future__ import annotations

import base64
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from abi.cli.plugin_author import example_entry
from abi.plugins.bundle import Bundle
from abi.plugins.signing import generate_key, public_key_id

PLUGINS = Path(__file__).resolve().parents[2] / "wasm-plugins"
FIRST_PARTY = sorted(
    p.name for p in PLUGINS.iterdir() if (p / "plugin.toml").is_file() and (p / "examples").is_dir()
)


def _same_output(body: dict[str, Any], expected: bytes) -> bool:
    if body["output_format"] == "json":
        return bool(body["output"] == json.loads(expected))
    return base64.b64decode(body["output"]) == expected


def test_there_are_first_party_plugins() -> None:
    assert len(FIRST_PARTY) >= 5, FIRST_PARTY


@pytest.mark.parametrize("name", FIRST_PARTY)
def test_first_party_plugin_lifecycle_through_the_api(
    name: str, live_server: Any, platform_admin: Any, tenant_factory: Callable[[str], Any]
) -> None:
    key = generate_key()
    admin = httpx.Client(base_url=live_server.url, headers=platform_admin.headers(), timeout=60)
    trusted = admin.post(
        "/api/v1/publishers",
        json={"public_key": public_key_id(key), "name": "abi", "platform_wide": True},
    )
    assert trusted.status_code == 201, trusted.text
    tenant = tenant_factory("acme")
    api = httpx.Client(base_url=live_server.url, headers=tenant.headers(), timeout=60)
    folder = PLUGINS / name
    bundle = Bundle.from_folder(folder)
    uploaded = api.post(
        "/api/v1/plugins",
        content=bundle.pack(key),
        headers={"Content-Type": "application/octet-stream"},
    )
    assert uploaded.status_code == 201, uploaded.text
    grants = {cap: {} for cap in bundle.manifest.capabilities}
    installed = api.post(f"/api/v1/plugins/{bundle.manifest.name}/install", json={"grants": grants})
    assert installed.status_code == 201, installed.text
    assert installed.json()["lifecycle"]["init"]["ok"] is True

    for example in sorted((folder / "examples").glob("*.in")):
        entry = example_entry(bundle.manifest, example.name[: -len(".in")])
        response = api.post(
            f"/api/v1/plugins/{bundle.manifest.name}/invoke",
            json={"entry": entry, "input_base64": base64.b64encode(example.read_bytes()).decode()},
        )
        assert response.status_code == 200, f"{example.name}: {response.text}"
        assert _same_output(response.json(), example.with_suffix(".out").read_bytes()), example

    exposition = admin.get("/api/v1/metrics").text
    calls = {
        (sample.labels["tenant"], sample.labels["plugin"], sample.labels["outcome"]): sample.value
        for family in text_string_to_metric_families(exposition)
        if family.name == "abi_plugin_calls"
        for sample in family.samples
        if sample.name == "abi_plugin_calls_total"
    }
    examples = len(list((folder / "examples").glob("*.in")))
    assert calls[(tenant.tenant_id, bundle.manifest.name, "ok")] == examples
    assert api.delete(f"/api/v1/plugins/{bundle.manifest.name}").status_code == 204
    listed = api.get("/api/v1/plugins").json()["plugins"]
    assert [(p["name"], p["installed_version"]) for p in listed] == [(bundle.manifest.name, None)]
