"""GET /api/v1/docs: a self-contained API browser (no external assets, works offline).

The page (``docs.html``, package data) fetches ``/api/v1/openapi.json`` and lists the
operations grouped by tag with method, path, summary, required scopes and their
parameter, request and response schemas.
"""

from __future__ import annotations

import functools
from importlib import resources

from quart import Blueprint, Response
from quart_schema import hide

blueprint = Blueprint("docs", __name__, url_prefix="/api/v1")


@functools.cache
def page() -> str:
    """The HTML of the docs page."""
    return resources.files("abi.server.routes").joinpath("docs.html").read_text(encoding="utf-8")


@blueprint.get("/docs")
@hide
async def docs() -> Response:
    """The API browser page."""
    return Response(page(), content_type="text/html; charset=utf-8")
