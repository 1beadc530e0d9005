"""Publishing compiles a module once: an accepted upload leaves its compiled module in the
compile cache, so the first call loads it from there; a refused upload writes nothing."""

from __future__ import annotations

from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from abi.plugins.registry import VersionExists
from abi.plugins.signing import generate_key, public_key_id
from abi.runtime import Platform
from helpers.plugin_bundles import make_bundle


@pytest.fixture
def key(platform: Platform) -> Ed25519PrivateKey:
    signing = generate_key()
    platform.plugins.registry.add_publisher(public_key_id(signing), "tests", tenant_id=None)
    return signing


def _cached_files(platform: Platform) -> list[Path]:
    cache = platform.plugins.sandbox.cache
    assert cache is not None
    return sorted(cache.folder.glob("*.cwasm"))


def test_an_accepted_upload_is_in_the_compile_cache_before_its_first_call(
    platform: Platform, key: Ed25519PrivateKey
) -> None:
    platform.plugins.publish(make_bundle("echo", "1.0.0", key), uploader=None)
    assert len(_cached_files(platform)) == 1
    tenant = platform.tenants.create("acme").id
    platform.plugins.install(tenant, "echo")
    platform.plugins.invoke(tenant, "echo", None, b"hi")
    stats = platform.plugins.sandbox.cache.stats  # type: ignore[union-attr]
    assert (stats.hits, stats.misses) == (1, 0)


def test_an_upload_refused_after_validation_writes_nothing_to_the_cache(
    platform: Platform, key: Ed25519PrivateKey
) -> None:
    platform.plugins.publish(make_bundle("echo", "1.0.0", key, tag="first"), uploader=None)
    before = _cached_files(platform)
    with pytest.raises(VersionExists):
        platform.plugins.publish(make_bundle("echo", "1.0.0", key, tag="other"), uploader=None)
    assert _cached_files(platform) == before
