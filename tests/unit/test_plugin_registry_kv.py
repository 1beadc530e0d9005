"""The SQL key-value store behind the ``kv`` capability: values, quotas, tenant isolation."""

from __future__ import annotations

import pytest

from abi.plugins.host.base import HostFailure
from abi.plugins.kvstore_sql import SqlKeyValueStore
from abi.runtime import Platform


@pytest.fixture
def store(platform: Platform) -> SqlKeyValueStore:
    return SqlKeyValueStore(platform.db, max_keys=3, max_total_bytes=100)


def test_set_get_delete_round_trip(store: SqlKeyValueStore) -> None:
    store.set("t1", "p", "k", b"\x00\xffvalue")
    assert store.get("t1", "p", "k") == b"\x00\xffvalue"
    assert store.delete("t1", "p", "k") is True
    assert store.get("t1", "p", "k") is None
    assert store.delete("t1", "p", "k") is False


def test_overwrite_replaces_and_counts_once(store: SqlKeyValueStore) -> None:
    store.set("t1", "p", "k", b"aaaa")
    store.set("t1", "p", "k", b"bb")
    assert store.get("t1", "p", "k") == b"bb"
    assert store.stats("t1", "p") == (1, 3)


def test_key_quota_refuses_and_keeps_state(store: SqlKeyValueStore) -> None:
    for key in ("a", "b", "c"):
        store.set("t1", "p", key, b"1")
    with pytest.raises(HostFailure) as caught:
        store.set("t1", "p", "d", b"1")
    assert caught.value.code == "limit_reached"
    assert store.get("t1", "p", "d") is None
    assert store.stats("t1", "p") == (3, 6)


def test_byte_quota_refuses_an_overwrite_that_grows_too_much(store: SqlKeyValueStore) -> None:
    store.set("t1", "p", "k", b"x" * 50)
    with pytest.raises(HostFailure) as caught:
        store.set("t1", "p", "k", b"x" * 120)
    assert caught.value.code == "limit_reached"
    assert store.get("t1", "p", "k") == b"x" * 50


def test_value_and_key_size_limits(platform: Platform) -> None:
    store = SqlKeyValueStore(platform.db)
    with pytest.raises(HostFailure) as caught:
        store.set("t1", "p", "k", b"x" * (64 * 1024 + 1))
    assert caught.value.code == "limit_reached"
    with pytest.raises(HostFailure) as caught:
        store.get("t1", "p", "é" * 129)
    assert caught.value.code == "bad_argument"


def test_namespaces_are_per_tenant_and_plugin(store: SqlKeyValueStore) -> None:
    store.set("t1", "p", "k", b"one")
    store.set("t2", "p", "k", b"two")
    store.set("t1", "q", "k", b"three")
    assert store.get("t2", "p", "k") == b"two"
    assert store.get("t1", "q", "k") == b"three"
    assert store.clear("t1", "p") == 1
    assert store.get("t2", "p", "k") == b"two"
