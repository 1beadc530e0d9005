"""Limits and cross-cutting behaviour: rate limits, body size, CORS, metrics, 500s."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from abi.config import Settings, load_settings
from abi.runtime import Platform
from abi.server.app import create_app
from abi.server.embedded import ServerThread


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return load_settings(
        environ={},
        overrides={
            "data_dir": tmp_path / "data",
            "server": {
                "rate_limit_per_minute": 60,
                "rate_limit_burst": 3,
                "max_body_bytes": 4096,
                "cors_origins": ["https://app.example"],
            },
        },
    )


@pytest.fixture
def acme(tenant_factory: Callable[[str], Any]) -> Any:
    return tenant_factory("acme")


def test_rate_limit_answers_429_with_retry_after(live_server: Any, acme: Any) -> None:
    url = f"{live_server.url}/api/v1/clients"
    statuses = [httpx.get(url, headers=acme.headers()).status_code for _ in range(4)]
    assert statuses == [200, 200, 200, 429]
    response = httpx.get(url, headers=acme.headers())
    assert response.json()["error"]["code"] == "rate_limited"
    assert int(response.headers["Retry-After"]) >= 1


def test_rate_limits_are_per_client(
    live_server: Any, acme: Any, tenant_factory: Callable[[str], Any]
) -> None:
    other = tenant_factory("other")
    url = f"{live_server.url}/api/v1/clients"
    for _ in range(4):
        httpx.get(url, headers=acme.headers())
    assert httpx.get(url, headers=other.headers()).status_code == 200


def test_a_body_over_the_limit_is_json_413(live_server: Any, acme: Any) -> None:
    response = httpx.post(
        f"{live_server.url}/api/v1/clients",
        headers=acme.headers(),
        json={"name": "x" * 10_000},
    )
    assert response.status_code == 413
    assert response.json()["error"]["code"] == "payload_too_large"


def test_a_non_json_body_is_a_json_400(live_server: Any, acme: Any) -> None:
    response = httpx.post(
        f"{live_server.url}/api/v1/clients",
        headers={**acme.headers(), "Content-Type": "application/json"},
        content=b"{not json",
    )
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "invalid_input"


def test_cors_allows_the_configured_origin_only(live_server: Any) -> None:
    url = f"{live_server.url}/api/v1/health"
    allowed = httpx.get(url, headers={"Origin": "https://app.example"})
    assert allowed.headers["Access-Control-Allow-Origin"] == "https://app.example"
    denied = httpx.get(url, headers={"Origin": "https://evil.example"})
    assert "Access-Control-Allow-Origin" not in denied.headers


def test_cors_exposes_the_request_and_trace_ids(live_server: Any) -> None:
    response = httpx.get(
        f"{live_server.url}/api/v1/health", headers={"Origin": "https://app.example"}
    )
    exposed = set(response.headers["Access-Control-Expose-Headers"].split(", "))
    assert {"X-Request-ID", "X-Trace-ID"} <= exposed
    assert all(name in response.headers for name in ("X-Request-ID", "X-Trace-ID"))


def test_cors_preflight_lists_methods_and_headers(live_server: Any) -> None:
    response = httpx.options(
        f"{live_server.url}/api/v1/clients",
        headers={"Origin": "https://app.example", "Access-Control-Request-Method": "POST"},
    )
    assert "POST" in response.headers["Access-Control-Allow-Methods"]
    assert "Authorization" in response.headers["Access-Control-Allow-Headers"]


def test_metrics_count_requests_by_route_and_status(live_server: Any, acme: Any) -> None:
    httpx.get(f"{live_server.url}/api/v1/nowhere")
    text = httpx.get(f"{live_server.url}/api/v1/metrics", headers=acme.headers("metrics:read")).text
    assert 'abi_http_requests_total{method="GET",route="unmatched",status="404"}' in text
    assert "abi_http_request_duration_seconds_bucket" in text


def test_metrics_need_a_token(live_server: Any) -> None:
    assert httpx.get(f"{live_server.url}/api/v1/metrics").status_code == 401


@pytest.fixture
def failing_server(platform: Platform) -> Iterator[str]:
    app = create_app(platform)

    @app.get("/api/v1/boom")
    async def boom() -> str:
        raise RuntimeError("secret internals")

    server = ServerThread(app).start()
    try:
        yield server.url
    finally:
        server.stop()


def test_an_unexpected_error_is_a_json_500_without_internals(failing_server: str) -> None:
    response = httpx.get(f"{failing_server}/api/v1/boom")
    assert response.status_code == 500
    error = response.json()["error"]
    assert error["code"] == "internal"
    assert "secret internals" not in response.text
    assert error["request_id"] == response.headers["X-Request-ID"]
