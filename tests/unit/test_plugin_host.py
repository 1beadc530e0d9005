"""Host-side pieces that need no Wasm: allowed hosts, key-value stores, the capability
catalog and registry agreeing with each other."""

from __future__ import annotations

import contextvars
from pathlib import Path

import pytest

from abi.plugins.capabilities import CATALOG, check_parameters
from abi.plugins.host import REGISTRY, services
from abi.plugins.host.http import host_allowed
from abi.plugins.kvstore import FileKeyValueStore, MemoryKeyValueStore


@pytest.mark.parametrize(
    ("host", "allowed"),
    [
        ("api.example.com", True),
        ("API.Example.com.", True),
        ("eu.cdn.example.org", True),
        ("example.org", False),
        ("evil-example.org", False),
        ("api.example.com.evil.net", False),
    ],
)
def test_host_allowed(host: str, allowed: bool) -> None:
    assert host_allowed(host, ["api.example.com", "*.example.org"]) is allowed


def test_every_catalog_function_is_implemented() -> None:
    assert set(REGISTRY) == set(CATALOG)
    for name, spec in CATALOG.items():
        assert {f.name for f in spec.functions} == set(REGISTRY[name].functions)


def test_import_modules_are_distinct() -> None:
    modules = [spec.module for spec in CATALOG.values()]
    assert len(modules) == len(set(modules))


def test_capability_parameters() -> None:
    assert check_parameters("http", {"allowed_hosts": ["a"], "timeout_ms": 10}) is None
    assert "positive" in (check_parameters("http", {"timeout_ms": 0}) or "")
    assert "unknown capability" in (check_parameters("fs", {}) or "")


@pytest.mark.parametrize("kind", ["memory", "file"])
def test_kv_stores(tmp_path: Path, kind: str) -> None:
    store = MemoryKeyValueStore() if kind == "memory" else FileKeyValueStore(tmp_path)
    store.set("t1", "p", "k", b"v1")
    store.set("t1", "p", "k2", b"value2")
    assert store.get("t1", "p", "k") == b"v1"
    assert store.get("t2", "p", "k") is None
    assert store.get("t1", "other", "k") is None
    assert store.stats("t1", "p") == (2, len("k") + 2 + len("k2") + 6)
    assert store.delete("t1", "p", "k") is True
    assert store.delete("t1", "p", "k") is False
    assert store.stats("t1", "p") == (1, 8)


def test_file_store_persists(tmp_path: Path) -> None:
    FileKeyValueStore(tmp_path).set("t", "p", "k", b"\x00\xff")
    assert FileKeyValueStore(tmp_path).get("t", "p", "k") == b"\x00\xff"


class _Bounded:
    """The one part of a guest call that a provider call uses: its time bound."""

    def time_left(self) -> float:
        return 10.0


def test_a_provider_call_runs_in_the_guest_calls_context() -> None:
    marker: contextvars.ContextVar[str] = contextvars.ContextVar("marker")
    marker.set("the guest call's trace")
    assert services._call_service(_Bounded(), marker.get) == "the guest call's trace"  # type: ignore[arg-type]
