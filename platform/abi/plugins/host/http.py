"""``http``: outbound requests to the hosts the grant allows, with a response-size cap and a
time bound (at most the call's remaining time)."""

from __future__ import annotations

from typing import Any

import httpx

from abi.plugins.host.base import (
    GuestCall,
    HostCapability,
    HostFailure,
    give_json,
    grant_params,
    read_json,
    require_object,
)

DEFAULT_MAX_RESPONSE = 1024 * 1024
DEFAULT_TIMEOUT_MS = 10_000
METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})
MAX_REQUEST_BODY = 1024 * 1024


def host_allowed(host: str, allowed: list[str]) -> bool:
    """Exact host names, or ``*.example.com`` for any subdomain of example.com."""
    host = host.lower().rstrip(".")
    for raw in allowed:
        pattern = raw.lower().rstrip(".")
        if host == pattern or (pattern.startswith("*.") and host.endswith(pattern[1:])):
            return True
    return False


def _request(call: GuestCall, req: dict[str, Any]) -> tuple[str, httpx.URL, dict[str, str], bytes]:
    method = str(req.get("method", "GET")).upper()
    if method not in METHODS:
        raise HostFailure("bad_argument", f"method {method!r} is not allowed")
    try:
        url = httpx.URL(str(req["url"]))
    except (httpx.InvalidURL, TypeError) as exc:
        raise HostFailure("bad_argument", f"bad url: {exc}") from exc
    if url.scheme not in ("http", "https") or not url.host:
        raise HostFailure("bad_argument", "url must be http(s)://host/...")
    allowed = list(grant_params(call, "http").get("allowed_hosts", []))
    if not host_allowed(url.host, allowed):
        raise HostFailure("capability_denied", f"host {url.host!r} is not in allowed_hosts")
    headers = req.get("headers") or {}
    if not isinstance(headers, dict) or not all(
        isinstance(k, str) and isinstance(v, str) for k, v in headers.items()
    ):
        raise HostFailure("bad_argument", "headers must be an object of strings")
    body = req.get("body") or ""
    if not isinstance(body, str) or len(body) > MAX_REQUEST_BODY:
        raise HostFailure("bad_argument", "body must be a string of at most 1 MiB")
    return method, url, headers, body.encode("utf-8")


def request(call: GuestCall, ptr: int, length: int) -> int:
    """``abi_http.request``: ``{method, url, headers, body}`` -> ``{status, headers, body}``."""
    req = require_object(read_json(call, ptr, length), "url")
    method, url, headers, body = _request(call, req)
    params = grant_params(call, "http")
    cap = int(params.get("max_response_bytes", DEFAULT_MAX_RESPONSE))
    timeout = min(int(params.get("timeout_ms", DEFAULT_TIMEOUT_MS)) / 1000, call.time_left())
    if timeout <= 0:
        raise HostFailure("limit_reached", "no time left in this call for an HTTP request")
    transport = call.context.services.http_transport
    try:
        with (
            httpx.Client(timeout=timeout, follow_redirects=False, transport=transport) as client,
            client.stream(method, url, headers=headers, content=body) as response,
        ):
            received = bytearray()
            for chunk in response.iter_bytes():
                received += chunk
                if len(received) > cap:
                    raise HostFailure("limit_reached", f"response is larger than {cap} bytes")
            return give_json(
                call,
                {
                    "status": response.status_code,
                    "headers": dict(response.headers),
                    "body": received.decode("utf-8", "replace"),
                },
            )
    except httpx.TimeoutException as exc:
        raise HostFailure("timeout", f"request timed out after {timeout:.1f}s") from exc
    except httpx.HTTPError as exc:
        raise HostFailure("host_error", f"request failed: {exc}") from exc


CAPABILITY = HostCapability("http", {"request": request})
