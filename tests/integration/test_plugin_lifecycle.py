"""The plugin lifecycle through the real API on a live server: upload -> install -> grant ->
invoke -> upgrade (needs a new grant) -> uninstall, refused uploads, streaming over the
WebSocket hub, upgrades while a call is in flight, roles and tenant isolation."""

from __future__ import annotations

import base64
import json
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import httpx
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from websockets.sync.client import ClientConnection, connect

from abi.plugins.signing import generate_key, public_key_id
from abi.security import Role
from helpers.plugin_bundles import make_bundle

KV_STREAM = {"kv": {}, "stream": {}}
OCTET = {"Content-Type": "application/octet-stream"}


@pytest.fixture
def key(live_server: Any, platform_admin: Any) -> Ed25519PrivateKey:
    """A platform-wide publisher key, registered through the API by the platform admin."""
    signing = generate_key()
    response = httpx.post(
        f"{live_server.url}/api/v1/publishers",
        json={"public_key": public_key_id(signing), "name": "tests", "platform_wide": True},
        headers=platform_admin.headers(),
    )
    assert response.status_code == 201, response.text
    return signing


@pytest.fixture
def acme(tenant_factory: Callable[[str], Any]) -> Any:
    return tenant_factory("acme")


@pytest.fixture
def api(live_server: Any, acme: Any) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=live_server.url, headers=acme.headers(), timeout=30) as client:
        yield client


def _upload(client: httpx.Client, data: bytes) -> httpx.Response:
    return client.post("/api/v1/plugins", content=data, headers=OCTET)


def _invoke(client: httpx.Client, name: str, **body: Any) -> httpx.Response:
    return client.post(f"/api/v1/plugins/{name}/invoke", json=body)


def _output(response: httpx.Response) -> bytes:
    assert response.status_code == 200, response.text
    body = response.json()
    if body["output_format"] == "json":
        return json.dumps(body["output"]).encode()
    return base64.b64decode(body["output"])


def _error_code(response: httpx.Response) -> str:
    code: str = response.json()["error"]["code"]
    return code


def test_upload_install_grant_invoke_upgrade_uninstall(
    api: httpx.Client, key: Ed25519PrivateKey
) -> None:
    uploaded = _upload(api, make_bundle("echo", "1.0.0", key, capabilities={"kv": {}}))
    assert uploaded.status_code == 201, uploaded.text
    assert uploaded.json()["capabilities"] == ["kv"]
    listed = api.get("/api/v1/plugins").json()["plugins"]
    assert [(p["name"], p["installed_version"]) for p in listed] == [("echo", None)]

    installed = api.post("/api/v1/plugins/echo/install", json={})
    assert installed.status_code == 201, installed.text
    assert installed.json()["declined"] == ["kv"]
    denied = _invoke(api, "echo", entry="recall")
    assert denied.status_code == 422
    assert _error_code(denied) == "plugin.capability_denied"
    assert denied.json()["error"]["details"]["usage"]["denied_calls"] == 1

    granted = api.put("/api/v1/plugins/echo/grants", json={"grants": {"kv": {}}})
    assert granted.json()["grants"] == {"kv": {}}
    assert _invoke(api, "echo", entry="remember", input_json={"n": 1}).status_code == 200
    assert _invoke(api, "echo", entry="recall").json()["output"] == {"n": 1}
    assert _output(_invoke(api, "echo", input="hi")) == b"1.0.0:hi"

    _upload(api, make_bundle("echo", "2.0.0", key, capabilities={"kv": {}, "config": {}}))
    refused = api.post("/api/v1/plugins/echo/install", json={"version": "2.0.0"})
    assert refused.status_code == 409
    assert _error_code(refused) == "plugin.grant_required"
    assert _output(_invoke(api, "echo", input="hi")) == b"1.0.0:hi"
    upgraded = api.post(
        "/api/v1/plugins/echo/install",
        json={"version": "2.0.0", "grants": {"kv": {}, "config": {}}},
    )
    assert upgraded.status_code == 200, upgraded.text
    assert _output(_invoke(api, "echo", input="hi")) == b"2.0.0:hi"
    assert _invoke(api, "echo", entry="recall").json()["output"] == {"n": 1}

    assert api.delete("/api/v1/plugins/echo").status_code == 204
    gone = _invoke(api, "echo", input="hi")
    assert gone.status_code == 404
    assert _error_code(gone) == "plugin.not_installed"
    assert api.get("/api/v1/plugins/echo").json()["installation"] is None


def test_invoke_reports_usage(api: httpx.Client, key: Ed25519PrivateKey) -> None:
    _upload(api, make_bundle("echo", "1.0.0", key))
    api.post("/api/v1/plugins/echo/install", json={})
    body = _invoke(api, "echo", input_base64=base64.b64encode(b"\x00\x01").decode()).json()
    assert body["usage"]["bytes_in"] == 2
    assert body["usage"]["bytes_out"] == len(b"1.0.0:") + 2
    assert body["usage"]["fuel"] > 0


def test_refused_upload_stores_nothing(
    live_server: Any, api: httpx.Client, key: Ed25519PrivateKey
) -> None:
    blobs = live_server.platform.blobs.root
    unknown = _upload(api, make_bundle("echo", "1.0.0", generate_key()))
    assert unknown.status_code == 400
    assert _error_code(unknown) == "plugin.unknown_publisher"
    garbage = _upload(api, b"PK\x03\x04 not really a zip")
    assert _error_code(garbage) == "plugin.bundle_malformed"
    assert api.get("/api/v1/plugins").json()["plugins"] == []
    assert [p for p in blobs.rglob("*") if p.is_file()] == []


def test_multipart_upload_is_accepted(api: httpx.Client, key: Ed25519PrivateKey) -> None:
    data = make_bundle("echo", "1.0.0", key)
    response = api.post("/api/v1/plugins", files={"bundle": ("echo.abi", data)})
    assert response.status_code == 201, response.text
    assert api.post("/api/v1/plugins", content=data, headers=OCTET).status_code == 200


def test_roles_and_scopes_are_enforced(
    live_server: Any, api: httpx.Client, acme: Any, key: Ed25519PrivateKey
) -> None:
    security = live_server.platform.security
    client, _secret = security.clients.create(acme.tenant_id, "dev", Role.DEVELOPER)
    dev_token = security.tokens.issue(client, None)["access_token"]
    dev = {"Authorization": f"Bearer {dev_token}"}
    uploaded = httpx.post(
        f"{live_server.url}/api/v1/plugins",
        content=make_bundle("echo", "1.0.0", key),
        headers={**dev, **OCTET},
    )
    assert uploaded.status_code == 201, uploaded.text
    dev_install = httpx.post(f"{live_server.url}/api/v1/plugins/echo/install", json={}, headers=dev)
    assert dev_install.status_code == 403
    assert api.post("/api/v1/plugins/echo/install", json={}).status_code == 201
    read_only = acme.headers("plugins:read")
    forbidden = httpx.post(
        f"{live_server.url}/api/v1/plugins/echo/invoke", json={"input": "x"}, headers=read_only
    )
    assert forbidden.status_code == 403
    assert httpx.get(f"{live_server.url}/api/v1/plugins/echo", headers=read_only).is_success


def test_tenants_are_isolated(
    live_server: Any,
    api: httpx.Client,
    tenant_factory: Callable[[str], Any],
    key: Ed25519PrivateKey,
) -> None:
    _upload(api, make_bundle("echo", "1.0.0", key, capabilities={"kv": {}, "config": {}}))
    api.post(
        "/api/v1/plugins/echo/install",
        json={"grants": {"kv": {}, "config": {}}, "config": {"greeting": "acme-secret"}},
    )
    _invoke(api, "echo", entry="remember", input="acme-state")
    other = tenant_factory("other")
    with httpx.Client(base_url=live_server.url, headers=other.headers(), timeout=30) as b:
        detail = b.get("/api/v1/plugins/echo").json()
        assert detail["installation"] is None
        assert _error_code(_invoke(b, "echo", input="x")) == "plugin.not_installed"
        assert b.put("/api/v1/plugins/echo", json={"enabled": False}).status_code == 404
        assert b.delete("/api/v1/plugins/echo").status_code == 404
        b.post("/api/v1/plugins/echo/install", json={"grants": {"kv": {}, "config": {}}})
        recall = _invoke(b, "echo", entry="recall")
        assert recall.status_code == 422
        assert "acme-state" not in recall.text
        assert _error_code(_invoke(b, "echo", entry="setting")) == "plugin.guest_error"
    assert _output(_invoke(api, "echo", entry="recall")) == b"acme-state"


def test_private_plugins_are_invisible_to_other_tenants(
    live_server: Any, api: httpx.Client, tenant_factory: Callable[[str], Any]
) -> None:
    signing = generate_key()
    registered = api.post(
        "/api/v1/publishers", json={"public_key": public_key_id(signing), "name": "acme"}
    )
    assert registered.status_code == 201, registered.text
    assert _upload(api, make_bundle("inhouse", "1.0.0", signing)).status_code == 201
    assert api.get("/api/v1/plugins/inhouse").json()["visibility"] == "private"
    other = tenant_factory("other")
    with httpx.Client(base_url=live_server.url, headers=other.headers(), timeout=30) as b:
        assert b.get("/api/v1/plugins").json()["plugins"] == []
        assert b.get("/api/v1/plugins/inhouse").status_code == 404
        assert b.post("/api/v1/plugins/inhouse/install", json={}).status_code == 404


@contextmanager
def _ws(live_server: Any, tenant: Any, topics: list[str]) -> Iterator[ClientConnection]:
    url = live_server.url.replace("http://", "ws://") + "/api/v1/ws"
    with connect(url, additional_headers=tenant.headers()) as ws:
        assert _recv(ws)["type"] == "welcome"
        ws.send(json.dumps({"type": "subscribe", "topics": topics}))
        assert _recv(ws)["type"] == "subscribed"
        yield ws


def _recv(ws: ClientConnection) -> dict[str, Any]:
    while True:
        message: dict[str, Any] = json.loads(ws.recv(timeout=20))
        if message["type"] != "heartbeat":
            return message


@contextmanager
def _streamed_call(
    live_server: Any, api: httpx.Client, acme: Any, **body: Any
) -> Iterator[tuple[ClientConnection, str]]:
    with _ws(live_server, acme, ["plugins.echo.stream"]) as ws:
        accepted = _invoke(api, "echo", stream=True, **body)
        assert accepted.status_code == 202, accepted.text
        assert accepted.json()["topic"] == "plugins.echo.stream"
        yield ws, accepted.json()["invocation_id"]


def test_streaming_invoke_delivers_chunks_then_the_result_over_the_hub(
    live_server: Any, api: httpx.Client, acme: Any, key: Ed25519PrivateKey
) -> None:
    _upload(api, make_bundle("echo", "1.0.0", key, capabilities=KV_STREAM))
    api.post("/api/v1/plugins/echo/install", json={"grants": {"kv": {}, "stream": {}}})
    live_server.platform.plugins.kv.set(acme.tenant_id, "echo", "go", b"1")
    with _streamed_call(live_server, api, acme, entry="wait", input="s") as (ws, invocation):
        chunk = _recv(ws)
        assert chunk["data"]["invocation_id"] == invocation
        assert base64.b64decode(chunk["data"]["chunk"]) == b"started"
        done = _recv(ws)["data"]
    assert done["done"] is True
    assert base64.b64decode(done["output"]) == b"1.0.0:s"
    assert done["usage"]["streamed_chunks"] == 1


def test_upgrade_during_a_call_in_flight_finishes_it_on_the_old_version(
    live_server: Any, api: httpx.Client, acme: Any, key: Ed25519PrivateKey
) -> None:
    for version in ("1.0.0", "2.0.0"):
        bundle = make_bundle(
            "echo", version, key, capabilities=KV_STREAM, limits={"host_calls": 100_000}
        )
        _upload(api, bundle)
    grants = {"kv": {}, "stream": {}}
    api.post("/api/v1/plugins/echo/install", json={"version": "1.0.0", "grants": grants})
    with _streamed_call(live_server, api, acme, entry="wait", input="old") as (ws, _id):
        assert base64.b64decode(_recv(ws)["data"]["chunk"]) == b"started"
        upgraded = api.post("/api/v1/plugins/echo/install", json={"version": "2.0.0"})
        assert upgraded.json()["version"] == "2.0.0"
        assert _output(_invoke(api, "echo", input="new")) == b"2.0.0:new"
        live_server.platform.plugins.kv.set(acme.tenant_id, "echo", "go", b"1")
        done = _recv(ws)["data"]
    assert base64.b64decode(done["output"]) == b"1.0.0:old"


def test_reload_reports_fresh_lifecycle_results(api: httpx.Client, key: Ed25519PrivateKey) -> None:
    _upload(api, make_bundle("echo", "1.0.0", key))
    first = api.post("/api/v1/plugins/echo/install", json={}).json()
    reloaded = api.post("/api/v1/plugins/echo/reload")
    assert reloaded.status_code == 200, reloaded.text
    body = reloaded.json()
    assert body["revision"] == first["revision"] + 1
    assert body["lifecycle"]["init"]["ok"] is True
    assert body["lifecycle"]["health"] == {"ok": True}


def test_disable_through_put_blocks_calls(api: httpx.Client, key: Ed25519PrivateKey) -> None:
    _upload(api, make_bundle("echo", "1.0.0", key))
    api.post("/api/v1/plugins/echo/install", json={})
    assert api.put("/api/v1/plugins/echo", json={"enabled": False}).json()["enabled"] is False
    blocked = _invoke(api, "echo", input="x")
    assert blocked.status_code == 409
    assert _error_code(blocked) == "plugin.disabled"


def test_parallel_invokes_each_get_their_own_output(
    api: httpx.Client, key: Ed25519PrivateKey
) -> None:
    _upload(api, make_bundle("echo", "1.0.0", key))
    api.post("/api/v1/plugins/echo/install", json={})
    outputs: list[bytes] = []
    lock = threading.Lock()

    def call(i: int) -> None:
        out = _output(_invoke(api, "echo", input=str(i)))
        with lock:
            outputs.append(out)

    threads = [threading.Thread(target=call, args=(i,)) for i in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert sorted(outputs) == sorted(f"1.0.0:{i}".encode() for i in range(8))


def test_config_values_are_shown_to_tenant_admins_only(
    live_server: Any, api: httpx.Client, acme: Any, key: Ed25519PrivateKey
) -> None:
    _upload(api, make_bundle("echo", "1.0.0", key, capabilities={"config": {}}))
    installed = api.post(
        "/api/v1/plugins/echo/install",
        json={"grants": {"config": {}}, "config": {"greeting": "s3cret"}},
    )
    assert installed.json()["config"] == {"greeting": "s3cret"}
    security = live_server.platform.security
    client, _secret = security.clients.create(acme.tenant_id, "reader", Role.READER)
    token = security.tokens.issue(client, None)["access_token"]
    seen = httpx.get(
        f"{live_server.url}/api/v1/plugins/echo", headers={"Authorization": f"Bearer {token}"}
    )
    assert seen.status_code == 200, seen.text
    assert seen.json()["installation"]["config"] is None
    assert "s3cret" not in seen.text


def test_health_runs_the_checks_and_reports_call_counters(
    api: httpx.Client, key: Ed25519PrivateKey
) -> None:
    _upload(api, make_bundle("echo", "1.0.0", key))
    api.post("/api/v1/plugins/echo/install", json={})
    _invoke(api, "echo", input="x")
    checked = api.get("/api/v1/plugins/echo/health")
    assert checked.status_code == 200, checked.text
    body = checked.json()
    assert body["lifecycle"]["health"] == {"ok": True}
    assert body["host"]["calls"] == 1
    assert api.get("/api/v1/plugins/echo").json()["installation"]["lifecycle"] == body["lifecycle"]


def test_publisher_keys_can_be_listed_and_removed(
    api: httpx.Client, key: Ed25519PrivateKey
) -> None:
    own = generate_key()
    added = api.post("/api/v1/publishers", json={"public_key": public_key_id(own), "name": "own"})
    listed = api.get("/api/v1/publishers").json()["publishers"]
    assert {p["key_id"] for p in listed} == {public_key_id(key), public_key_id(own)}
    assert api.delete(f"/api/v1/publishers/{added.json()['id']}").status_code == 204
    refused = _upload(api, make_bundle("mine", "1.0.0", own))
    assert _error_code(refused) == "plugin.unknown_publisher"
    platform_key = next(p for p in listed if p["key_id"] == public_key_id(key))
    assert api.delete(f"/api/v1/publishers/{platform_key['id']}").status_code == 404


def test_listing_filters_by_installation_text_and_capability(
    api: httpx.Client, key: Ed25519PrivateKey
) -> None:
    _upload(api, make_bundle("alpha", "1.0.0", key, description="Sentiment scores"))
    _upload(api, make_bundle("beta", "1.0.0", key, capabilities={"kv": {}}))
    api.post("/api/v1/plugins/alpha/install", json={})

    def names(**params: Any) -> list[str]:
        response = api.get("/api/v1/plugins", params=params)
        assert response.status_code == 200, response.text
        return [p["name"] for p in response.json()["plugins"]]

    assert names(installed="true") == ["alpha"]
    assert names(installed="false") == ["beta"]
    assert names(q="sentiment") == ["alpha"]
    assert names(capability="kv") == ["beta"]
    assert names(limit=1, offset=1) == ["beta"]


def test_a_failing_streamed_call_ends_with_an_error_event(
    live_server: Any, api: httpx.Client, acme: Any, key: Ed25519PrivateKey
) -> None:
    _upload(api, make_bundle("echo", "1.0.0", key, capabilities=KV_STREAM))
    api.post("/api/v1/plugins/echo/install", json={})
    with _streamed_call(live_server, api, acme, entry="recall") as (ws, invocation):
        done = _recv(ws)["data"]
    assert done["invocation_id"] == invocation
    assert done["error"]["code"] == "plugin.capability_denied"
    assert done["usage"]["denied_calls"] == 1


def test_versions_list_every_manifest(api: httpx.Client, key: Ed25519PrivateKey) -> None:
    _upload(api, make_bundle("echo", "1.0.0", key))
    _upload(api, make_bundle("echo", "1.1.0", key, capabilities={"kv": {}}))
    versions = api.get("/api/v1/plugins/echo/versions").json()["versions"]
    assert [(v["version"], list(v["manifest"]["capabilities"])) for v in versions] == [
        ("1.0.0", []),
        ("1.1.0", ["kv"]),
    ]
    assert api.get("/api/v1/plugins/nope/versions").status_code == 404
