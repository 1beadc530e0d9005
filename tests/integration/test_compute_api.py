"""Compute routes over a real server on loopback."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import httpx
import numpy as np
import pytest

from abi.compute.devices import discover


@pytest.fixture
def acme(tenant_factory: Callable[[str], Any]) -> Any:
    return tenant_factory("acme")


def _embed(server: Any, tenant: Any, body: dict[str, Any], scopes: str = "compute:write") -> Any:
    return httpx.post(f"{server.url}/api/v1/embed", headers=tenant.headers(scopes), json=body)


def test_devices_lists_platforms_and_the_embedder(live_server: Any, acme: Any) -> None:
    resp = httpx.get(
        f"{live_server.url}/api/v1/compute/devices", headers=acme.headers("compute:read")
    )
    assert resp.status_code == 200, resp.text
    body = resp.json()
    assert body["embedder"] == {"name": "hashing-384", "dim": 384}
    expected = sorted(d.id for d in discover())
    assert sorted(d["id"] for p in body["platforms"] for d in p["devices"]) == expected


def test_embed_returns_one_unit_vector_per_text(live_server: Any, acme: Any) -> None:
    resp = _embed(live_server, acme, {"texts": ["alpha beta", "gamma"]})
    assert resp.status_code == 200, resp.text
    body = resp.json()
    vectors = np.array(body["vectors"])
    assert vectors.shape == (2, 384)
    np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0, rtol=1e-5)
    direct = live_server.platform.embedder.embed(["alpha beta"])
    np.testing.assert_allclose(vectors[0], direct[0], rtol=1e-6)


def test_embed_needs_the_write_scope(live_server: Any, acme: Any) -> None:
    assert _embed(live_server, acme, {"texts": ["x"]}, scopes="compute:read").status_code == 403


def test_embed_rejects_an_unknown_model(live_server: Any, acme: Any) -> None:
    resp = _embed(live_server, acme, {"texts": ["x"], "model": "gpt-embed-xl"})
    assert resp.status_code == 400
    assert resp.json()["error"]["code"] == "compute.unknown_model"


def test_embed_rejects_an_empty_batch(live_server: Any, acme: Any) -> None:
    assert _embed(live_server, acme, {"texts": []}).status_code == 400
