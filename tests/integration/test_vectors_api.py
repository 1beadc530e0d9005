"""WDBX through the REST API on a live server: scopes, tenant isolation, errors."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import httpx
import pytest

API = "/api/v1/database"


@pytest.fixture
def client(live_server: Any) -> httpx.Client:
    with httpx.Client(base_url=live_server.url, timeout=30) as http:
        yield http


@pytest.fixture
def acme(tenant_factory: Callable[[str], Any], client: httpx.Client) -> Any:
    tenant = tenant_factory("acme")
    created = client.post(
        f"{API}/collections",
        json={"name": "docs", "dimension": 3, "metric": "cosine", "payload_indexes": ["lang"]},
        headers=tenant.headers(),
    )
    assert created.status_code == 201, created.text
    vectors = [
        {"id": "a", "vector": [1, 0, 0], "payload": {"lang": "en"}},
        {"id": 7, "vector": [0, 1, 0], "payload": {"lang": "de"}},
        {"vector": [0, 0, 1]},
    ]
    done = client.post(
        f"{API}/vectors", json={"collection": "docs", "vectors": vectors}, headers=tenant.headers()
    )
    assert done.status_code == 200, done.text
    return tenant


def test_search_by_query_string(client: httpx.Client, acme: Any) -> None:
    reply = client.get(
        f"{API}/search",
        params={"collection": "docs", "vector": "0.9,0.1,0", "k": 2, "with_payloads": "true"},
        headers=acme.headers("vectors:read"),
    )
    assert reply.status_code == 200, reply.text
    hits = reply.json()["hits"]
    assert [h["id"] for h in hits] == ["a", 7]
    assert hits[0]["payload"] == {"lang": "en"}


def test_batch_search_with_filter(client: httpx.Client, acme: Any) -> None:
    reply = client.post(
        f"{API}/search",
        json={
            "collection": "docs",
            "vectors": [[1, 0, 0], [0, 0, 1]],
            "k": 3,
            "filter": {"field": "lang", "in": ["de"]},
        },
        headers=acme.headers(),
    )
    assert reply.status_code == 200, reply.text
    assert [[h["id"] for h in row] for row in reply.json()["results"]] == [[7], [7]]


def test_batch_search_as_columns(client: httpx.Client, acme: Any) -> None:
    reply = client.post(
        f"{API}/search",
        json={"collection": "docs", "vectors": [[1, 0, 0], [0, 1, 0]], "k": 4, "columns": True},
        headers=acme.headers(),
    )
    assert reply.status_code == 200, reply.text
    body = reply.json()
    assert [row[:1] for row in body["ids"]] == [["a"], [7]]
    assert [len(row) for row in body["scores"]] == [len(row) for row in body["ids"]]
    assert body["scores"][0][0] == pytest.approx(1.0)


def test_columns_refuse_payloads(client: httpx.Client, acme: Any) -> None:
    reply = client.post(
        f"{API}/search",
        json={"collection": "docs", "vectors": [[1, 0, 0]], "columns": True, "with_payloads": True},
        headers=acme.headers(),
    )
    assert reply.status_code == 400
    assert reply.json()["error"]["code"] == "vectors.invalid_input"


def test_update_get_and_delete_by_path_id(client: httpx.Client, acme: Any) -> None:
    headers = acme.headers()
    put = client.put(
        f"{API}/vectors/7",
        json={"collection": "docs", "payload": {"tag": "x"}, "merge": True},
        headers=headers,
    )
    assert put.status_code == 200, put.text
    got = client.get(f"{API}/vectors/7", params={"collection": "docs"}, headers=headers).json()
    assert got["payload"] == {"lang": "de", "tag": "x"}
    assert (
        client.delete(
            f"{API}/vectors/a", params={"collection": "docs"}, headers=headers
        ).status_code
        == 204
    )
    missing = client.get(f"{API}/vectors/a", params={"collection": "docs"}, headers=headers)
    assert missing.status_code == 404
    assert missing.json()["error"]["code"] == "vectors.vector_not_found"


def test_stats_and_collection_listing(client: httpx.Client, acme: Any) -> None:
    headers = acme.headers("vectors:read")
    stats = client.get(f"{API}/stats", params={"collection": "docs"}, headers=headers).json()
    assert stats["count"] == 3
    listed = client.get(f"{API}/collections", headers=headers).json()["collections"]
    assert [(c["name"], c["count"]) for c in listed] == [("docs", 3)]


def test_write_needs_write_scope(client: httpx.Client, acme: Any) -> None:
    reply = client.post(
        f"{API}/vectors",
        json={"collection": "docs", "vectors": [{"vector": [1, 1, 1]}]},
        headers=acme.headers("vectors:read"),
    )
    assert reply.status_code == 403
    assert client.get(f"{API}/collections/docs", headers=acme.headers()).json()["count"] == 3


@pytest.mark.parametrize(
    ("body", "code"),
    [
        ({"collection": "docs", "vectors": [{"vector": [1, 2]}]}, "vectors.wrong_dimension"),
        (
            {"collection": "nope", "vectors": [{"vector": [1, 2, 3]}]},
            "vectors.collection_not_found",
        ),
        ({"collection": "docs", "vectors": [{"vector": [0, 0, 0]}]}, "vectors.zero_vector"),
    ],
)
def test_bad_upsert_is_refused(
    client: httpx.Client, acme: Any, body: dict[str, Any], code: str
) -> None:
    reply = client.post(f"{API}/vectors", json=body, headers=acme.headers())
    assert reply.status_code in (400, 404)
    assert reply.json()["error"]["code"] == code
    assert client.get(f"{API}/collections/docs", headers=acme.headers()).json()["count"] == 3


def test_malformed_filter_in_query_string(client: httpx.Client, acme: Any) -> None:
    reply = client.get(
        f"{API}/search",
        params={"collection": "docs", "vector": "1,0,0", "filter": json.dumps({"field": "x"})},
        headers=acme.headers(),
    )
    assert reply.status_code == 400
    assert reply.json()["error"]["code"] == "vectors.filter_invalid"


def test_other_tenant_sees_nothing(
    client: httpx.Client, acme: Any, tenant_factory: Callable[[str], Any]
) -> None:
    other = tenant_factory("globex")
    headers = other.headers()
    assert client.get(f"{API}/collections", headers=headers).json() == {"collections": []}
    for reply in (
        client.get(f"{API}/collections/docs", headers=headers),
        client.get(
            f"{API}/search", params={"collection": "docs", "vector": "1,0,0"}, headers=headers
        ),
        client.get(f"{API}/vectors/a", params={"collection": "docs"}, headers=headers),
        client.delete(f"{API}/collections/docs", headers=headers),
    ):
        assert reply.status_code == 404
        assert reply.json()["error"]["code"] == "vectors.collection_not_found"
    assert client.get(f"{API}/collections/docs", headers=acme.headers()).json()["count"] == 3


def test_backup_and_restore_over_http(
    client: httpx.Client, acme: Any, tenant_factory: Callable[[str], Any]
) -> None:
    archive = client.post(f"{API}/backup", json={}, headers=acme.headers())
    assert archive.status_code == 200
    other = tenant_factory("initech")
    restored = client.post(f"{API}/restore", content=archive.content, headers=other.headers())
    assert restored.status_code == 200, restored.text
    assert restored.json() == {"restored": ["docs"]}
    damaged = bytearray(archive.content)
    damaged[archive.content.index(b"\x93NUMPY") + 140] ^= 0x55  # inside a vector file
    damaged = bytes(damaged)
    refused = client.post(
        f"{API}/restore", params={"overwrite": "true"}, content=damaged, headers=other.headers()
    )
    assert refused.status_code == 400
    assert refused.json()["error"]["code"] == "vectors.backup_corrupt"
    assert client.get(f"{API}/collections/docs", headers=other.headers()).json()["count"] == 3
