"""Tracing, performance and profiling through the API on a real server over loopback."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import httpx

TRACEPARENT_ID = "4bf92f3577b34da6a3ce929d0e0e4736"


def _health(url: str, headers: dict[str, str], **extra: str) -> httpx.Response:
    return httpx.get(f"{url}/api/v1/health", headers={**headers, **extra})


def test_responses_carry_a_trace_id_the_tenant_can_read(
    live_server: Any, tenant_factory: Callable[[str], Any]
) -> None:
    acme = tenant_factory("acme")
    response = httpx.get(f"{live_server.url}/api/v1/audit", headers=acme.headers())
    trace_id = response.headers["X-Trace-ID"]
    listed = httpx.get(f"{live_server.url}/api/v1/traces", headers=acme.headers()).json()
    assert trace_id in [t["trace_id"] for t in listed["traces"]]
    found = httpx.get(f"{live_server.url}/api/v1/traces/{trace_id}", headers=acme.headers())
    root = found.json()["spans"][0]
    assert root["name"] == "http.request"
    assert root["attributes"]["http.route"] == "/api/v1/audit"
    assert root["attributes"]["abi.tenant_id"] == acme.tenant_id
    assert root["attributes"]["abi.request_id"] == response.headers["X-Request-ID"]


def test_another_tenant_cannot_read_the_trace(
    live_server: Any, tenant_factory: Callable[[str], Any]
) -> None:
    acme, rival = tenant_factory("acme"), tenant_factory("rival")
    trace_id = httpx.get(f"{live_server.url}/api/v1/audit", headers=acme.headers()).headers[
        "X-Trace-ID"
    ]
    response = httpx.get(f"{live_server.url}/api/v1/traces/{trace_id}", headers=rival.headers())
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "traces.not_found"
    listed = httpx.get(f"{live_server.url}/api/v1/traces", headers=rival.headers()).json()
    assert trace_id not in [t["trace_id"] for t in listed["traces"]]


def test_a_tenant_cannot_ask_for_another_tenants_traces(
    live_server: Any, tenant_factory: Callable[[str], Any]
) -> None:
    acme, rival = tenant_factory("acme"), tenant_factory("rival")
    response = httpx.get(
        f"{live_server.url}/api/v1/traces",
        params={"tenant_id": acme.tenant_id},
        headers=rival.headers(),
    )
    assert response.status_code == 403


def test_an_incoming_traceparent_is_continued(
    live_server: Any, tenant_factory: Callable[[str], Any]
) -> None:
    acme = tenant_factory("acme")
    parent = f"00-{TRACEPARENT_ID}-00f067aa0ba902b7-01"
    response = _health(live_server.url, acme.headers(), traceparent=parent)
    assert response.headers["X-Trace-ID"] == TRACEPARENT_ID


def test_a_malformed_trace_id_is_a_clear_400(
    live_server: Any, tenant_factory: Callable[[str], Any]
) -> None:
    acme = tenant_factory("acme")
    response = httpx.get(f"{live_server.url}/api/v1/traces/not-hex", headers=acme.headers())
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "traces.invalid_id"


def test_traces_need_the_traces_read_scope(
    live_server: Any, tenant_factory: Callable[[str], Any]
) -> None:
    acme = tenant_factory("acme")
    headers = acme.headers("vectors:read")
    assert httpx.get(f"{live_server.url}/api/v1/traces", headers=headers).status_code == 403


def test_performance_counts_requests_by_route(
    live_server: Any, tenant_factory: Callable[[str], Any]
) -> None:
    acme = tenant_factory("acme")
    for _ in range(3):
        httpx.get(f"{live_server.url}/api/v1/audit", headers=acme.headers())
    body = httpx.get(f"{live_server.url}/api/v1/performance", headers=acme.headers()).json()
    assert body["tenant_id"] == acme.tenant_id
    audit = body["http"]["by_key"]["GET /api/v1/audit"]
    assert audit["count"] == 3
    assert audit["p50_ms"] > 0
    assert body["process"]["rss_mib"] > 0


def test_profile_is_refused_to_tenants(
    live_server: Any, tenant_factory: Callable[[str], Any]
) -> None:
    acme = tenant_factory("acme")
    response = httpx.post(
        f"{live_server.url}/api/v1/admin/profile", params={"seconds": 0.1}, headers=acme.headers()
    )
    assert response.status_code == 403


def test_platform_admins_get_a_sampling_profile(live_server: Any, platform_admin: Any) -> None:
    response = httpx.post(
        f"{live_server.url}/api/v1/admin/profile",
        params={"seconds": 0.3, "format": "folded"},
        headers=platform_admin.headers(),
        timeout=30,
    )
    assert response.status_code == 200
    assert response.headers["Content-Type"].startswith("text/plain")
    lines = response.text.splitlines()
    assert lines and all(line.startswith("[") for line in lines)


def test_profile_rejects_a_too_long_run(live_server: Any, platform_admin: Any) -> None:
    response = httpx.post(
        f"{live_server.url}/api/v1/admin/profile",
        params={"seconds": 100000},
        headers=platform_admin.headers(),
    )
    assert response.status_code == 400


def test_reusing_another_tenants_trace_id_shows_neither_the_others_spans(
    live_server: Any, tenant_factory: Callable[[str], Any]
) -> None:
    acme, rival = tenant_factory("acme"), tenant_factory("rival")
    trace_id = httpx.get(f"{live_server.url}/api/v1/audit", headers=acme.headers()).headers[
        "X-Trace-ID"
    ]
    parent = f"00-{trace_id}-00f067aa0ba902b7-01"
    httpx.get(f"{live_server.url}/api/v1/audit", headers={**rival.headers(), "traceparent": parent})
    url = f"{live_server.url}/api/v1/traces/{trace_id}"
    acme_spans = httpx.get(url, headers=acme.headers()).json()["spans"]
    rival_spans = httpx.get(url, headers=rival.headers()).json()["spans"]
    assert {s["attributes"]["abi.tenant_id"] for s in acme_spans} == {acme.tenant_id}
    assert {s["attributes"]["abi.tenant_id"] for s in rival_spans} == {rival.tenant_id}


def test_performance_shows_the_tenants_vector_collections(
    live_server: Any, tenant_factory: Callable[[str], Any]
) -> None:
    acme = tenant_factory("acme")
    created = httpx.post(
        f"{live_server.url}/api/v1/database/collections",
        json={"name": "docs", "dimension": 4, "index": "flat", "dtype": "f32"},
        headers=acme.headers(),
    )
    assert created.status_code == 201, created.text
    body = httpx.get(f"{live_server.url}/api/v1/performance", headers=acme.headers()).json()
    assert [c["name"] for c in body["vectors"]["collections"]] == ["docs"]
    assert body["compute"]["backend"] in ("auto", "opencl", "numpy")


def test_performance_of_another_tenant_is_for_platform_admins_only(
    live_server: Any, tenant_factory: Callable[[str], Any], platform_admin: Any
) -> None:
    acme, rival = tenant_factory("acme"), tenant_factory("rival")
    url = f"{live_server.url}/api/v1/performance"
    params = {"tenant_id": acme.tenant_id}
    assert httpx.get(url, params=params, headers=rival.headers()).status_code == 403
    as_admin = httpx.get(url, params=params, headers=platform_admin.headers())
    assert as_admin.json()["tenant_id"] == acme.tenant_id
