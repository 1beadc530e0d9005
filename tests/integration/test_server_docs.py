"""The API description (/api/v1/openapi.json) and the offline docs page (/api/v1/docs)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from quart import Quart

from abi.runtime import Platform
from abi.server.app import create_app
from abi.server.embedded import ServerThread

DOCUMENTATION_ENDPOINTS = {"openapi", "docs.docs"}


@pytest.fixture
def served(platform: Platform) -> Iterator[tuple[Quart, str]]:
    app = create_app(platform)
    server = ServerThread(app).start()
    try:
        yield app, server.url
    finally:
        server.stop()


@pytest.fixture
def document(served: tuple[Quart, str]) -> dict[str, Any]:
    response = httpx.get(f"{served[1]}/api/v1/openapi.json")
    assert response.status_code == 200
    result: dict[str, Any] = response.json()
    return result


def test_openapi_lists_every_registered_route(
    served: tuple[Quart, str], document: dict[str, Any]
) -> None:
    app = served[0]
    expected = {
        (re.sub(r"<(?:[^:>]*:)?([^>]+)>", r"{\1}", rule.rule), method.lower())
        for rule in app.url_map.iter_rules()
        if rule.endpoint not in DOCUMENTATION_ENDPOINTS
        for method in rule.methods or ()
        if method not in ("HEAD", "OPTIONS")
    }
    listed = {(path, method) for path, item in document["paths"].items() for method in item}
    assert len(expected) > 20
    assert listed == expected


def test_openapi_tags_operations_by_blueprint_and_marks_websockets(
    document: dict[str, Any],
) -> None:
    paths = document["paths"]
    assert paths["/api/v1/clients"]["post"]["tags"] == ["clients"]
    socket = paths["/api/v1/ws"]["get"]
    assert socket["x-websocket"] is True
    assert "101" in socket["responses"]


def test_openapi_describes_schemas_and_scopes(document: dict[str, Any]) -> None:
    assert document["openapi"].startswith("3.1")
    create = document["paths"]["/api/v1/clients"]["post"]
    body = create["requestBody"]["content"]["application/json"]
    assert body["schema"]["title"] == "CredentialCreate"
    assert {"oauth2": ["clients:write"]} in create["security"]
    flows = document["components"]["securitySchemes"]["oauth2"]["flows"]
    assert flows["clientCredentials"]["tokenUrl"] == "/api/v1/oauth/token"


def test_docs_page_is_self_contained(served: tuple[Quart, str]) -> None:
    response = httpx.get(f"{served[1]}/api/v1/docs")
    assert response.status_code == 200
    assert response.headers["Content-Type"].startswith("text/html")
    page = response.text
    assert "fetch(SPEC_PATH)" in page and '"/api/v1/openapi.json"' in page
    assert re.search(r"(https?:)?//[A-Za-z0-9.-]+\.[A-Za-z]{2,}", page) is None
    assert re.search(r"<(script|link|img)[^>]+(src|href)=", page) is None
