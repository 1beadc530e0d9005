"""Installations through ``platform.plugins``: grants, upgrades that need a new grant,
config at rest, enable/disable, dependencies, uninstall, audit, metrics and reload."""

from __future__ import annotations

import asyncio
import json
import threading

import pytest
import sqlalchemy as sa
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from prometheus_client import REGISTRY

from abi.errors import AbiError
from abi.plugins.errors import PluginCallError
from abi.plugins.service import PluginService
from abi.plugins.tables import installations
from abi.runtime import Platform
from helpers.plugin_bundles import make_bundle, register_key

KV_STREAM = {"kv": {}, "stream": {}}
GREETING_SCHEMA = {"type": "object", "properties": {"greeting": {"type": "string"}}}


@pytest.fixture
def key(platform: Platform) -> Ed25519PrivateKey:
    return register_key(platform.plugins.registry)


@pytest.fixture
def service(platform: Platform) -> PluginService:
    return platform.plugins


@pytest.fixture
def tenant(platform: Platform) -> str:
    return platform.tenants.create("acme").id


def _publish(service: PluginService, key: Ed25519PrivateKey, version: str, **kw: object) -> None:
    service.publish(make_bundle("echo", version, key, **kw), uploader=None)  # type: ignore[arg-type]


def _code(exc: pytest.ExceptionInfo[AbiError]) -> str:
    return exc.value.code


def test_install_then_invoke_runs_the_installed_version(
    service: PluginService, key: Ed25519PrivateKey, tenant: str
) -> None:
    _publish(service, key, "1.0.0")
    installed = service.install(tenant, "echo")
    assert installed.version == "1.0.0"
    assert installed.lifecycle["init"]["ok"] is True
    assert service.invoke(tenant, "echo", None, b"hi").output == b"1.0.0:hi"


def test_install_without_grants_declines_requested_capabilities(
    service: PluginService, key: Ed25519PrivateKey, tenant: str
) -> None:
    _publish(service, key, "1.0.0", capabilities=KV_STREAM)
    installed = service.install(tenant, "echo")
    assert installed.grants == {}
    assert installed.declined == ("kv", "stream")
    with pytest.raises(PluginCallError) as caught:
        service.invoke(tenant, "echo", "recall", b"")
    assert caught.value.code == "plugin.capability_denied"


def test_granted_kv_persists_between_calls(
    service: PluginService, key: Ed25519PrivateKey, tenant: str
) -> None:
    _publish(service, key, "1.0.0", capabilities=KV_STREAM)
    service.install(tenant, "echo", grants=["kv"])
    service.invoke(tenant, "echo", "remember", b"state")
    assert service.invoke(tenant, "echo", "recall", b"").output == b"state"


def test_upgrade_requesting_more_capabilities_needs_a_grant(
    service: PluginService, key: Ed25519PrivateKey, tenant: str
) -> None:
    _publish(service, key, "1.0.0", capabilities={"kv": {}})
    _publish(service, key, "2.0.0", capabilities={"kv": {}, "config": {}})
    service.install(tenant, "echo", "1.0.0", grants=["kv"])
    with pytest.raises(AbiError) as caught:
        service.install(tenant, "echo", "2.0.0")
    assert _code(caught) == "plugin.grant_required"
    assert caught.value.details["capabilities"] == ["config"]
    assert service.installation(tenant, "echo").version == "1.0.0"
    upgraded = service.install(tenant, "echo", "2.0.0", grants=["kv", "config"])
    assert upgraded.version == "2.0.0"
    assert service.invoke(tenant, "echo", None, b"x").output == b"2.0.0:x"


def test_upgrade_keeps_grants_when_nothing_new_is_requested(
    service: PluginService, key: Ed25519PrivateKey, tenant: str
) -> None:
    _publish(service, key, "1.0.0", capabilities=KV_STREAM)
    _publish(service, key, "1.1.0", capabilities=KV_STREAM)
    service.install(tenant, "echo", "1.0.0", grants=["kv"])
    upgraded = service.install(tenant, "echo", "1.1.0")
    assert upgraded.grants == {"kv": {}}
    assert upgraded.declined == ("stream",)


def test_grants_cannot_name_unrequested_capabilities(
    service: PluginService, key: Ed25519PrivateKey, tenant: str
) -> None:
    _publish(service, key, "1.0.0", capabilities={"kv": {}})
    service.install(tenant, "echo")
    with pytest.raises(AbiError) as caught:
        service.set_grants(tenant, "echo", ["http"])
    assert _code(caught) == "plugin.grant_invalid"
    assert service.installation(tenant, "echo").grants == {}


def test_set_grants_takes_effect_on_the_next_call(
    service: PluginService, key: Ed25519PrivateKey, tenant: str
) -> None:
    _publish(service, key, "1.0.0", capabilities={"kv": {}})
    service.install(tenant, "echo")
    with pytest.raises(PluginCallError):
        service.invoke(tenant, "echo", "recall", b"")
    service.set_grants(tenant, "echo", ["kv"])
    service.invoke(tenant, "echo", "remember", b"v")
    assert service.invoke(tenant, "echo", "recall", b"").output == b"v"


def test_config_is_validated_and_encrypted_at_rest(
    platform: Platform, service: PluginService, key: Ed25519PrivateKey, tenant: str
) -> None:
    _publish(service, key, "1.0.0", capabilities={"config": {}}, config_schema=GREETING_SCHEMA)
    with pytest.raises(AbiError) as caught:
        service.install(tenant, "echo", grants=["config"], config={"greeting": 5})
    assert _code(caught) == "plugin.config_invalid"
    service.install(tenant, "echo", grants=["config"], config={"greeting": "hello-secret"})
    assert service.invoke(tenant, "echo", "setting", b"").output == b'"hello-secret"'
    with platform.db.begin() as conn:
        raw = conn.execute(sa.select(installations.c.config)).scalar_one()
    assert b"hello-secret" not in raw


def test_disabled_installation_refuses_calls(
    service: PluginService, key: Ed25519PrivateKey, tenant: str
) -> None:
    _publish(service, key, "1.0.0")
    service.install(tenant, "echo")
    service.configure(tenant, "echo", enabled=False)
    with pytest.raises(AbiError) as caught:
        service.invoke(tenant, "echo", None, b"")
    assert _code(caught) == "plugin.disabled"
    service.configure(tenant, "echo", enabled=True)
    assert service.invoke(tenant, "echo", None, b"").output == b"1.0.0:"


def test_missing_dependency_is_reported_or_installed(
    service: PluginService, key: Ed25519PrivateKey, tenant: str
) -> None:
    service.publish(make_bundle("base", "1.3.0", key), uploader=None)
    service.publish(make_bundle("app", "1.0.0", key, dependencies={"base": "^1"}), uploader=None)
    with pytest.raises(AbiError) as caught:
        service.install(tenant, "app")
    assert _code(caught) == "plugin.dependency_missing"
    assert caught.value.details["missing"] == {"base": "1.3.0"}
    service.install(tenant, "app", with_dependencies=True)
    assert service.installation(tenant, "base").version == "1.3.0"
    with pytest.raises(AbiError) as caught:
        service.uninstall(tenant, "base")
    assert _code(caught) == "plugin.dependency_in_use"


def test_uninstall_removes_the_installation_and_its_kv(
    service: PluginService, key: Ed25519PrivateKey, tenant: str
) -> None:
    _publish(service, key, "1.0.0", capabilities={"kv": {}})
    service.install(tenant, "echo", grants=["kv"])
    service.invoke(tenant, "echo", "remember", b"v")
    service.uninstall(tenant, "echo")
    assert service.kv.stats(tenant, "echo") == (0, 0)
    with pytest.raises(AbiError) as caught:
        service.invoke(tenant, "echo", None, b"")
    assert _code(caught) == "plugin.not_installed"


def test_installs_grants_and_uninstalls_are_audited(
    platform: Platform, service: PluginService, key: Ed25519PrivateKey, tenant: str
) -> None:
    _publish(service, key, "1.0.0", capabilities={"kv": {}})
    service.install(tenant, "echo", actor="c_admin")
    service.set_grants(tenant, "echo", ["kv"], actor="c_admin")
    service.uninstall(tenant, "echo", actor="c_admin")
    entries = platform.security.audit.query(tenant, action="plugin.*")
    assert [e.action for e in reversed(entries)] == [
        "plugin.install",
        "plugin.grant",
        "plugin.uninstall",
    ]
    assert entries[1].details["granted"] == ["kv"]
    assert all(e.actor == "c_admin" for e in entries)


def test_calls_are_counted_per_tenant_and_plugin(
    service: PluginService, key: Ed25519PrivateKey, tenant: str
) -> None:
    _publish(service, key, "1.0.0")
    service.install(tenant, "echo")
    labels = {"tenant": tenant, "plugin": "echo", "outcome": "ok"}
    before = REGISTRY.get_sample_value("abi_plugin_calls_total", labels) or 0.0
    service.invoke(tenant, "echo", None, b"abc")
    service.invoke(tenant, "echo", None, b"abc")
    assert REGISTRY.get_sample_value("abi_plugin_calls_total", labels) == before + 2
    fuel = REGISTRY.get_sample_value("abi_plugin_fuel_total", {"tenant": tenant, "plugin": "echo"})
    assert fuel is not None and fuel > 0


def test_tenants_do_not_see_each_others_installations_or_kv(
    platform: Platform, service: PluginService, key: Ed25519PrivateKey, tenant: str
) -> None:
    other = platform.tenants.create("other").id
    _publish(service, key, "1.0.0", capabilities={"kv": {}})
    service.install(tenant, "echo", grants=["kv"])
    service.invoke(tenant, "echo", "remember", b"mine")
    with pytest.raises(AbiError) as caught:
        service.invoke(other, "echo", "recall", b"")
    assert _code(caught) == "plugin.not_installed"
    service.install(other, "echo", grants=["kv"])
    with pytest.raises(PluginCallError) as call_error:
        service.invoke(other, "echo", "recall", b"")
    assert call_error.value.code == "plugin.guest_error"
    assert "not_found" in call_error.value.message


def test_upgrade_while_a_call_is_in_flight_finishes_it_on_the_old_version(
    service: PluginService, key: Ed25519PrivateKey, tenant: str
) -> None:
    limits = {"host_calls": 100_000}
    _publish(service, key, "1.0.0", capabilities=KV_STREAM, limits=limits)
    _publish(service, key, "2.0.0", capabilities=KV_STREAM, limits=limits)
    service.install(tenant, "echo", "1.0.0", grants=["kv", "stream"])
    started = threading.Event()
    results: list[bytes] = []

    def slow_call() -> None:
        sink = lambda _chunk: started.set()  # noqa: E731
        results.append(service.invoke(tenant, "echo", "wait", b"old", sink).output)

    worker = threading.Thread(target=slow_call)
    worker.start()
    assert started.wait(10)
    service.install(tenant, "echo", "2.0.0")
    assert service.invoke(tenant, "echo", None, b"new").output == b"2.0.0:new"
    service.kv.set(tenant, "echo", "go", b"1")
    worker.join(10)
    assert results == [b"1.0.0:old"]


def test_reload_swaps_in_fresh_instances(
    service: PluginService, key: Ed25519PrivateKey, tenant: str
) -> None:
    _publish(service, key, "1.0.0")
    first = service.install(tenant, "echo")
    service.invoke(tenant, "echo", None, b"")
    reloaded = service.reload(tenant, "echo")
    assert reloaded.revision == first.revision + 1
    assert reloaded.lifecycle["health"] == {"ok": True}
    assert service.invoke(tenant, "echo", None, b"z").output == b"1.0.0:z"


def test_plugins_reach_the_tenants_vectors_and_the_embedder(
    platform: Platform, service: PluginService, key: Ed25519PrivateKey, tenant: str
) -> None:
    platform.vectors.create_collection(tenant, "docs", 3, dtype="f32", index="flat")
    scoped = {"collections": ["docs"]}
    capabilities = {"vectors.read": scoped, "vectors.write": scoped, "embed": {}}
    _publish(service, key, "1.0.0", capabilities=capabilities)
    service.install(tenant, "echo", grants=list(capabilities))
    upsert = {"collection": "docs", "items": [{"id": 7, "vector": [1, 0, 0], "payload": {"a": 1}}]}
    out = service.invoke(tenant, "echo", "vectors_upsert", json.dumps(upsert).encode())
    assert json.loads(out.output) == {"upserted": 1}
    query = {"collection": "docs", "vector": [1, 0, 0], "k": 1}
    hits = json.loads(
        service.invoke(tenant, "echo", "vectors_search", json.dumps(query).encode()).output
    )
    assert [(hit["id"], hit["payload"]) for hit in hits["hits"]] == [(7, {"a": 1})]
    other = {"collection": "secret", "vector": [1, 0, 0], "k": 1}
    with pytest.raises(PluginCallError) as caught:
        service.invoke(tenant, "echo", "vectors_search", json.dumps(other).encode())
    assert "capability_denied" in caught.value.message
    embedded = service.invoke(tenant, "echo", "embed", b'{"texts": ["hello world"]}').output
    assert json.loads(embedded)["dim"] == platform.embedder.dim


def test_plugins_query_the_tenants_agents(
    platform: Platform, service: PluginService, key: Ed25519PrivateKey, tenant: str
) -> None:
    platform.agents.registry.create(
        tenant,
        {
            "name": "docs",
            "persona": {"description": "Answers questions about Abi from its docs"},
            "memory": {"collection": "docs-memory"},
            "backend": {"kind": "retrieval", "top_k": 1},
        },
    )
    platform.agents.remember(tenant, "docs", [{"text": "The port is 8080", "source": "a.md"}])
    _publish(service, key, "1.0.0", capabilities={"agents.call": {"agents": ["docs"]}})
    service.install(tenant, "echo", grants=["agents.call"])
    request = {"agent": "docs", "query": "which port"}
    answer = json.loads(
        service.invoke(tenant, "echo", "agents_call", json.dumps(request).encode()).output
    )
    assert answer["sources"][0]["source"] == "a.md"
    with pytest.raises(PluginCallError) as caught:
        service.invoke(tenant, "echo", "agents_call", b'{"agent": "other", "query": "x"}')
    assert "capability_denied" in caught.value.message


def test_a_change_made_by_another_process_is_picked_up(
    platform: Platform, service: PluginService, key: Ed25519PrivateKey, tenant: str
) -> None:
    _publish(service, key, "1.0.0")
    _publish(service, key, "2.0.0")
    service.install(tenant, "echo", "1.0.0")
    assert service.invoke(tenant, "echo", None, b"a").output == b"1.0.0:a"
    with Platform(platform.settings) as other:
        other.plugins.install(tenant, "echo", "2.0.0")
    service.revision_check_seconds = 0.0
    assert service.invoke(tenant, "echo", None, b"a").output == b"2.0.0:a"


def test_config_changes_apply_to_the_next_call(
    service: PluginService, key: Ed25519PrivateKey, tenant: str
) -> None:
    _publish(service, key, "1.0.0", capabilities={"config": {}}, config_schema=GREETING_SCHEMA)
    service.install(tenant, "echo", grants=["config"], config={"greeting": "one"})
    assert service.invoke(tenant, "echo", "setting", b"").output == b'"one"'
    changed = service.configure(tenant, "echo", config={"greeting": "two"})
    assert changed.config == {"greeting": "two"}
    assert changed.lifecycle["health"] == {"ok": True}
    assert service.invoke(tenant, "echo", "setting", b"").output == b'"two"'
    with pytest.raises(AbiError) as caught:
        service.configure(tenant, "echo", config={"greeting": 3})
    assert _code(caught) == "plugin.config_invalid"
    assert service.installation(tenant, "echo").config == {"greeting": "two"}


async def test_cancelling_ainvoke_ends_the_wasm_call(
    service: PluginService, key: Ed25519PrivateKey, tenant: str
) -> None:
    _publish(service, key, "1.0.0", capabilities=KV_STREAM, limits={"host_calls": 100_000})
    service.install(tenant, "echo", grants=["kv", "stream"])
    started = asyncio.Event()
    loop = asyncio.get_running_loop()
    call = asyncio.create_task(
        service.ainvoke(
            tenant, "echo", "wait", b"", lambda _chunk: loop.call_soon_threadsafe(started.set)
        )
    )
    await asyncio.wait_for(started.wait(), 10)
    call.cancel()
    with pytest.raises(asyncio.CancelledError):
        await call
    labels = {"tenant": tenant, "plugin": "echo", "outcome": "plugin.cancelled"}
    for _ in range(200):
        if REGISTRY.get_sample_value("abi_plugin_calls_total", labels):
            break
        await asyncio.sleep(0.05)
    assert REGISTRY.get_sample_value("abi_plugin_calls_total", labels) == 1
