"""When the OAuth2 endpoints accept plain HTTP: HTTPS always, plain HTTP only when both the
URL's host and the peer are loopback."""

from __future__ import annotations

import pytest

from abi.security.tokens import HttpRequest, is_secure_request


def _request(uri: str, peer: str | None) -> HttpRequest:
    return HttpRequest("POST", uri, {}, peer)


@pytest.mark.parametrize("peer", ["203.0.113.9", "127.0.0.1", None])
def test_https_is_secure_from_any_peer(peer: str | None) -> None:
    assert is_secure_request(_request("https://api.example.com/api/v1/oauth/token", peer))


@pytest.mark.parametrize(
    ("uri", "peer"),
    [
        ("http://localhost:8080/api/v1/oauth/token", "127.0.0.1"),
        ("http://127.0.0.1:8080/api/v1/oauth/token", "127.0.0.1"),
        ("http://[::1]:8080/api/v1/oauth/token", "::1"),
    ],
)
def test_plain_http_between_loopback_ends_is_secure(uri: str, peer: str) -> None:
    assert is_secure_request(_request(uri, peer))


def test_a_remote_peer_naming_localhost_in_its_host_header_is_refused() -> None:
    assert not is_secure_request(
        _request("http://localhost:8080/api/v1/oauth/token", "203.0.113.9")
    )


def test_a_public_host_forwarded_from_a_local_proxy_is_refused() -> None:
    assert not is_secure_request(_request("http://api.example.com/api/v1/oauth/token", "127.0.0.1"))


@pytest.mark.parametrize("peer", [None, "", "not-an-address"])
def test_an_unknown_peer_is_not_loopback(peer: str | None) -> None:
    assert not is_secure_request(_request("http://localhost:8080/api/v1/oauth/token", peer))
