"""The plugin registry: upload validation (nothing stored on refusal), versions, visibility,
search and dependency resolution, on a real store and the real sandbox loader."""

from __future__ import annotations

import threading
import zipfile
from io import BytesIO
from pathlib import Path

import pytest
import sqlalchemy as sa
import wasmtime
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from abi.errors import AbiError
from abi.plugins.registry import EVERYTHING, PUBLIC, PluginRegistry
from abi.plugins.signing import Signature, generate_key, public_key_id
from abi.plugins.tables import plugin_versions, plugins
from abi.runtime import Platform
from helpers.plugin_bundles import make_bundle, plugin_wat, register_key


@pytest.fixture
def registry(platform: Platform) -> PluginRegistry:
    return platform.plugins.registry


@pytest.fixture
def key(registry: PluginRegistry) -> Ed25519PrivateKey:
    """A platform-wide publisher key."""
    return register_key(registry)


@pytest.fixture
def acme(platform: Platform) -> str:
    return platform.tenants.create("acme").id


@pytest.fixture
def other(platform: Platform) -> str:
    return platform.tenants.create("other").id


@pytest.fixture
def acme_key(registry: PluginRegistry, acme: str) -> Ed25519PrivateKey:
    """A publisher key registered by tenant acme (its plugins are private to acme)."""
    return register_key(registry, acme, "acme dev")


def _stored(platform: Platform) -> tuple[int, int, list[Path]]:
    with platform.db.begin() as conn:
        n_plugins = conn.execute(sa.select(sa.func.count()).select_from(plugins)).scalar_one()
        n_versions = conn.execute(
            sa.select(sa.func.count()).select_from(plugin_versions)
        ).scalar_one()
    files = [platform.blobs.root, platform.settings.data_dir / "plugins"]
    stored = sorted(p for root in files for p in root.rglob("*") if p.is_file())
    return int(n_plugins), int(n_versions), stored


def _refused(platform: Platform, registry: PluginRegistry, data: bytes, code: str) -> None:
    before = _stored(platform)
    with pytest.raises(AbiError) as caught:
        registry.publish(data, uploader=None)
    assert caught.value.code == code
    assert _stored(platform) == before


def test_publish_stores_the_bundle_content_addressed(
    platform: Platform, registry: PluginRegistry, key: Ed25519PrivateKey
) -> None:
    data = make_bundle("echo", "1.0.0", key)
    published = registry.publish(data, uploader=None)
    assert published.created
    assert platform.blobs.get(published.version.bundle_digest) == data
    assert registry.bundle(published.version).module == registry.bundle(published.version).module
    assert registry.get("echo", viewer=PUBLIC).latest_version == "1.0.0"


def test_every_version_is_kept_and_latest_is_the_highest_release(
    registry: PluginRegistry, key: Ed25519PrivateKey
) -> None:
    for version in ("1.0.0", "1.2.0", "1.1.0", "2.0.0-rc.1"):
        registry.publish(make_bundle("echo", version, key), uploader=None)
    info = registry.get("echo", viewer=PUBLIC)
    assert info.versions == ("1.0.0", "1.1.0", "1.2.0", "2.0.0-rc.1")
    assert info.latest_version == "1.2.0"
    assert registry.version("echo", None, viewer=PUBLIC).version == "1.2.0"


def test_identical_reupload_is_idempotent(registry: PluginRegistry, key: Ed25519PrivateKey) -> None:
    data = make_bundle("echo", "1.0.0", key)
    registry.publish(data, uploader=None)
    assert registry.publish(data, uploader=None).created is False


def test_same_version_with_other_content_is_refused(
    platform: Platform, registry: PluginRegistry, key: Ed25519PrivateKey
) -> None:
    registry.publish(make_bundle("echo", "1.0.0", key), uploader=None)
    other = make_bundle("echo", "1.0.0", key, tag="changed")
    _refused(platform, registry, other, "plugin.version_exists")


def test_unknown_publisher_is_refused_and_nothing_stored(
    platform: Platform, registry: PluginRegistry
) -> None:
    data = make_bundle("echo", "1.0.0", generate_key())
    _refused(platform, registry, data, "plugin.unknown_publisher")


def test_unsigned_bundle_is_refused(
    platform: Platform, registry: PluginRegistry, key: Ed25519PrivateKey
) -> None:
    _refused(platform, registry, make_bundle("echo", "1.0.0", None), "plugin.signature_invalid")


def test_tampered_module_is_refused(
    platform: Platform, registry: PluginRegistry, key: Ed25519PrivateKey
) -> None:
    signed = make_bundle("echo", "1.0.0", key)
    source = zipfile.ZipFile(BytesIO(signed))
    out = BytesIO()
    with zipfile.ZipFile(out, "w") as target:
        for info in source.infolist():
            content = source.read(info)
            if info.filename == "plugin.wasm":
                content = wasmtime.wat2wasm(plugin_wat("evil"))
            target.writestr(info, content)
    _refused(platform, registry, out.getvalue(), "plugin.signature_invalid")


def test_trusted_publishers_setting_is_accepted(platform: Platform) -> None:
    signing = generate_key()
    platform.settings.plugins.trusted_publishers = [public_key_id(signing)]
    published = platform.plugins.registry.publish(
        make_bundle("echo", "1.0.0", signing), uploader=None
    )
    assert published.version.publisher == public_key_id(signing)


def test_import_not_requested_is_refused(
    platform: Platform, registry: PluginRegistry, key: Ed25519PrivateKey
) -> None:
    module = wasmtime.wat2wasm(plugin_wat("x", {"kv"}))
    data = make_bundle("echo", "1.0.0", key, module=module)
    _refused(platform, registry, data, "plugin.import_not_requested")


def test_abi_version_mismatch_is_refused(
    platform: Platform, registry: PluginRegistry, key: Ed25519PrivateKey
) -> None:
    text = plugin_wat("x").replace("(result i32) (i32.const 1))", "(result i32) (i32.const 2))")
    data = make_bundle("echo", "1.0.0", key, module=wasmtime.wat2wasm(text))
    _refused(platform, registry, data, "plugin.abi_mismatch")


def test_invalid_module_is_refused(
    platform: Platform, registry: PluginRegistry, key: Ed25519PrivateKey
) -> None:
    data = make_bundle("echo", "1.0.0", key, module=b"\0asm\x01\0\0\0garbage")
    _refused(platform, registry, data, "plugin.invalid_module")


def test_oversized_bundle_is_refused(
    platform: Platform, registry: PluginRegistry, key: Ed25519PrivateKey
) -> None:
    platform.settings.plugins.max_module_bytes = 1024
    data = make_bundle("echo", "1.0.0", key) + b"\0" * 200_000
    _refused(platform, registry, data, "plugin.module_too_large")


def test_malformed_manifest_is_refused(
    platform: Platform, registry: PluginRegistry, key: Ed25519PrivateKey
) -> None:
    manifest = b'name = "echo"\nversion = "1.0.0"\n[capabilities]\nteleport = {}\n'
    module = wasmtime.wat2wasm(plugin_wat("x"))
    out = BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        archive.writestr("plugin.toml", manifest)
        archive.writestr("plugin.wasm", module)
        archive.writestr("signature.json", Signature.create(key, manifest, module).to_json())
    _refused(platform, registry, out.getvalue(), "plugin.manifest_invalid")


def test_unresolvable_dependency_is_refused(
    platform: Platform, registry: PluginRegistry, key: Ed25519PrivateKey
) -> None:
    registry.publish(make_bundle("base", "1.0.0", key), uploader=None)
    data = make_bundle("app", "1.0.0", key, dependencies={"base": "^2.0"})
    _refused(platform, registry, data, "plugin.dependency_unresolved")


def test_dependencies_resolve_to_the_highest_matching_versions(
    registry: PluginRegistry, key: Ed25519PrivateKey
) -> None:
    for version in ("1.0.0", "1.4.0", "2.0.0"):
        registry.publish(make_bundle("base", version, key), uploader=None)
    registry.publish(
        make_bundle("mid", "1.0.0", key, dependencies={"base": ">=1.2"}), uploader=None
    )
    app = registry.publish(
        make_bundle("app", "1.0.0", key, dependencies={"mid": "^1", "base": "<2"}), uploader=None
    )
    assert app.version.dependencies == {"mid": "1.0.0", "base": "1.4.0"}
    assert registry.resolve("app", "1.0.0", viewer=PUBLIC) == {"mid": "1.0.0", "base": "1.4.0"}


def test_another_publisher_cannot_take_over_a_name(
    platform: Platform, registry: PluginRegistry, key: Ed25519PrivateKey
) -> None:
    registry.publish(make_bundle("echo", "1.0.0", key), uploader=None)
    intruder = register_key(registry, name="intruder")
    _refused(platform, registry, make_bundle("echo", "1.0.1", intruder), "plugin.name_taken")


def test_tenant_key_publishes_a_private_plugin(
    registry: PluginRegistry, acme: str, other: str, acme_key: Ed25519PrivateKey
) -> None:
    registry.publish(make_bundle("secret", "1.0.0", acme_key), uploader=acme)
    assert registry.get("secret", viewer=acme).visibility == "private"
    assert [p.name for p in registry.search(viewer=other)] == []
    with pytest.raises(AbiError) as caught:
        registry.get("secret", viewer=other)
    assert caught.value.code == "plugin.not_found"
    assert [p.name for p in registry.search(viewer=EVERYTHING)] == ["secret"]


def test_a_tenant_key_is_unknown_to_other_uploaders(
    registry: PluginRegistry, other: str, acme_key: Ed25519PrivateKey
) -> None:
    with pytest.raises(AbiError) as caught:
        registry.publish(make_bundle("secret", "1.0.0", acme_key), uploader=other)
    assert caught.value.code == "plugin.unknown_publisher"


def test_search_filters_by_text_and_capability(
    registry: PluginRegistry, key: Ed25519PrivateKey
) -> None:
    registry.publish(
        make_bundle("sentiment", "1.0.0", key, description="Lexicon sentiment"), uploader=None
    )
    registry.publish(
        make_bundle("memo", "1.0.0", key, capabilities={"kv": {}}, description="Remembers"),
        uploader=None,
    )
    assert [p.name for p in registry.search(viewer=PUBLIC, query="LEXICON")] == ["sentiment"]
    assert [p.name for p in registry.search(viewer=PUBLIC, capability="kv")] == ["memo"]
    assert [p.name for p in registry.search(viewer=PUBLIC, limit=1, offset=1)] == ["sentiment"]


def test_publisher_keys_are_validated_and_unique(registry: PluginRegistry) -> None:
    with pytest.raises(AbiError) as caught:
        registry.add_publisher("not-a-key", "x", tenant_id=None)
    assert caught.value.code == "plugin.signature_invalid"
    key_id = public_key_id(generate_key())
    registry.add_publisher(key_id, "one", tenant_id=None)
    with pytest.raises(AbiError) as caught:
        registry.add_publisher(key_id, "again", tenant_id=None)
    assert caught.value.code == "plugin.publisher_exists"


def test_concurrent_uploads_of_one_version_store_it_once(
    platform: Platform, registry: PluginRegistry, key: Ed25519PrivateKey
) -> None:
    data = make_bundle("echo", "1.0.0", key)
    outcomes: list[str] = []

    def upload() -> None:
        try:
            outcomes.append("created" if registry.publish(data, uploader=None).created else "same")
        except AbiError as exc:
            outcomes.append(exc.code)

    threads = [threading.Thread(target=upload) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert outcomes.count("created") == 1
    assert set(outcomes) <= {"created", "same", "plugin.concurrent_publish"}
    assert registry.get("echo", viewer=PUBLIC).versions == ("1.0.0",)
