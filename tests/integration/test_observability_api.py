"""Tracing, performance and profiling through the API on a real server over loopback."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import httpx
import pytest

TRACEPARENT_ID = "4bf92f3577b34da6a3ce929d0e0e4736"


@pytest.fixture
def acme(tenant_factory: Callable[[str], Any]) -> Any:
    return tenant_factory("acme")


@pytest.fixture
def rival(tenant_factory: Callable[[str], Any]) -> Any:
    return tenant_factory("rival")


def _get(server: Any, path: str, headers: dict[str, str], **kwargs: Any) -> httpx.Response:
    return httpx.get(f"{server.url}/api/v1/{path}", headers=headers, **kwargs)


def _audit(server: Any, tenant: Any, **extra: str) -> httpx.Response:
    """GET /audit as ``tenant`` (plus ``extra`` headers): a traced, counted request."""
    return _get(server, "audit", {**tenant.headers(), **extra})


def _trace_ids(server: Any, tenant: Any) -> list[str]:
    listed = _get(server, "traces", tenant.headers()).json()
    return [t["trace_id"] for t in listed["traces"]]


def test_responses_carry_a_trace_id_the_tenant_can_read(live_server: Any, acme: Any) -> None:
    response = _audit(live_server, acme)
    trace_id = response.headers["X-Trace-ID"]
    assert trace_id in _trace_ids(live_server, acme)
    found = _get(live_server, f"traces/{trace_id}", acme.headers())
    root = found.json()["spans"][0]
    assert root["name"] == "http.request"
    assert root["attributes"]["http.route"] == "/api/v1/audit"
    assert root["attributes"]["abi.tenant_id"] == acme.tenant_id
    assert root["attributes"]["abi.request_id"] == response.headers["X-Request-ID"]


def test_another_tenant_cannot_read_the_trace(live_server: Any, acme: Any, rival: Any) -> None:
    trace_id = _audit(live_server, acme).headers["X-Trace-ID"]
    response = _get(live_server, f"traces/{trace_id}", rival.headers())
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "traces.not_found"
    assert trace_id not in _trace_ids(live_server, rival)


def test_a_tenant_cannot_ask_for_another_tenants_traces(
    live_server: Any, acme: Any, rival: Any
) -> None:
    response = _get(live_server, "traces", rival.headers(), params={"tenant_id": acme.tenant_id})
    assert response.status_code == 403


def test_an_incoming_traceparent_is_continued(live_server: Any, acme: Any) -> None:
    parent = f"00-{TRACEPARENT_ID}-00f067aa0ba902b7-01"
    response = _get(live_server, "health", {**acme.headers(), "traceparent": parent})
    assert response.headers["X-Trace-ID"] == TRACEPARENT_ID


def test_a_malformed_trace_id_is_a_clear_400(live_server: Any, acme: Any) -> None:
    response = _get(live_server, "traces/not-hex", acme.headers())
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "traces.invalid_id"


def test_traces_need_the_traces_read_scope(live_server: Any, acme: Any) -> None:
    assert _get(live_server, "traces", acme.headers("vectors:read")).status_code == 403


def test_performance_counts_requests_by_route(live_server: Any, acme: Any) -> None:
    for _ in range(3):
        _audit(live_server, acme)
    body = _get(live_server, "performance", acme.headers()).json()
    assert body["tenant_id"] == acme.tenant_id
    audit = body["http"]["by_key"]["GET /api/v1/audit"]
    assert audit["count"] == 3
    assert audit["p50_ms"] > 0
    assert body["process"]["rss_mib"] > 0


def _profile(server: Any, headers: dict[str, str], **params: Any) -> httpx.Response:
    return httpx.post(
        f"{server.url}/api/v1/admin/profile", params=params, headers=headers, timeout=30
    )


def test_profile_is_refused_to_tenants(live_server: Any, acme: Any) -> None:
    assert _profile(live_server, acme.headers(), seconds=0.1).status_code == 403


def test_platform_admins_get_a_sampling_profile(live_server: Any, platform_admin: Any) -> None:
    response = _profile(live_server, platform_admin.headers(), seconds=0.3, format="folded")
    assert response.status_code == 200
    assert response.headers["Content-Type"].startswith("text/plain")
    lines = response.text.splitlines()
    assert lines and all(line.startswith("[") for line in lines)


def test_profile_rejects_a_too_long_run(live_server: Any, platform_admin: Any) -> None:
    assert _profile(live_server, platform_admin.headers(), seconds=100000).status_code == 400


def test_reusing_another_tenants_trace_id_shows_neither_the_others_spans(
    live_server: Any, acme: Any, rival: Any
) -> None:
    trace_id = _audit(live_server, acme).headers["X-Trace-ID"]
    _audit(live_server, rival, traceparent=f"00-{trace_id}-00f067aa0ba902b7-01")
    for tenant in (acme, rival):
        spans = _get(live_server, f"traces/{trace_id}", tenant.headers()).json()["spans"]
        assert {s["attributes"]["abi.tenant_id"] for s in spans} == {tenant.tenant_id}


def test_performance_shows_the_tenants_vector_collections(live_server: Any, acme: Any) -> None:
    created = httpx.post(
        f"{live_server.url}/api/v1/database/collections",
        json={"name": "docs", "dimension": 4, "index": "flat", "dtype": "f32"},
        headers=acme.headers(),
    )
    assert created.status_code == 201, created.text
    body = _get(live_server, "performance", acme.headers()).json()
    assert [c["name"] for c in body["vectors"]["collections"]] == ["docs"]
    assert body["compute"]["backend"] in ("auto", "opencl", "numpy")


def test_performance_of_another_tenant_is_for_platform_admins_only(
    live_server: Any, acme: Any, rival: Any, platform_admin: Any
) -> None:
    params = {"tenant_id": acme.tenant_id}
    assert _get(live_server, "performance", rival.headers(), params=params).status_code == 403
    as_admin = _get(live_server, "performance", platform_admin.headers(), params=params)
    assert as_admin.json()["tenant_id"] == acme.tenant_id
