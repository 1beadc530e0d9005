"""The server's baseline behaviour over a real Hypercorn on loopback: health, request ids,
the access log and JSON errors for every failure."""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from typing import Any

import httpx
import pytest


def _error(response: httpx.Response) -> dict[str, Any]:
    body = response.json()
    assert set(body) == {"error"}
    error: dict[str, Any] = body["error"]
    assert error["request_id"] == response.headers["X-Request-ID"]
    return error


def test_health_needs_no_token_and_reports_components(live_server: Any) -> None:
    response = httpx.get(f"{live_server.url}/api/v1/health")
    assert response.status_code == 200
    body = response.json()
    assert body["ready"] is True
    assert body["components"]["store"] == {"ok": True}
    assert body["components"]["security"]["ok"] is True


def test_health_liveness_probe_skips_readiness(live_server: Any) -> None:
    body = httpx.get(f"{live_server.url}/api/v1/health", params={"probe": "live"}).json()
    assert body["status"] == "ok"
    assert "components" not in body


def test_health_echoes_the_authenticated_principal(
    live_server: Any, tenant_factory: Callable[[str], Any]
) -> None:
    acme = tenant_factory("acme")
    body = httpx.get(f"{live_server.url}/api/v1/health", headers=acme.headers()).json()
    assert body["principal"] == {"tenant_id": acme.tenant_id, "client_id": acme.client_id}


def test_health_refuses_a_bad_credential_it_was_sent(live_server: Any) -> None:
    headers = {"Authorization": "Bearer not-a-token"}
    response = httpx.get(f"{live_server.url}/api/v1/health", headers=headers)
    assert response.status_code == 401
    assert _error(response)["code"] == "auth.invalid_token"


def test_request_id_from_the_client_is_echoed(live_server: Any) -> None:
    response = httpx.get(f"{live_server.url}/api/v1/nowhere", headers={"X-Request-ID": "abc-123"})
    assert response.headers["X-Request-ID"] == "abc-123"
    assert _error(response)["request_id"] == "abc-123"


def test_access_log_line_names_the_request_and_trace_ids(
    live_server: Any, tenant_factory: Callable[[str], Any], caplog: pytest.LogCaptureFixture
) -> None:
    acme = tenant_factory("acme")
    headers = {**acme.headers(), "X-Request-ID": "log-42"}
    with caplog.at_level(logging.INFO, logger="abi.access"):
        response = httpx.get(f"{live_server.url}/api/v1/clients", headers=headers)
    lines = [json.loads(r.getMessage()) for r in caplog.records if r.name == "abi.access"]
    entry = next(line for line in lines if line["request_id"] == "log-42")
    assert len(response.headers["X-Trace-ID"]) == 32
    assert entry["trace_id"] == response.headers["X-Trace-ID"]
    assert (entry["path"], entry["status"], entry["tenant"]) == (
        "/api/v1/clients",
        200,
        acme.tenant_id,
    )


def test_unknown_route_is_json_404(live_server: Any) -> None:
    response = httpx.get(f"{live_server.url}/api/v1/nowhere")
    assert response.status_code == 404
    assert _error(response)["code"] == "not_found"


def test_wrong_method_is_json_405_with_allow(live_server: Any) -> None:
    response = httpx.delete(f"{live_server.url}/api/v1/health")
    assert response.status_code == 405
    assert _error(response)["code"] == "method_not_allowed"
    assert "GET" in response.headers["Allow"]


def test_missing_token_is_json_401(live_server: Any) -> None:
    response = httpx.get(f"{live_server.url}/api/v1/clients")
    assert response.status_code == 401
    assert _error(response)["code"] == "auth.unauthenticated"
