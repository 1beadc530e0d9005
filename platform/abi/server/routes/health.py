"""GET /api/v1/health: liveness and readiness, with per-subsystem status. No token needed;
a credential, when sent, is validated and its principal echoed (a cheap "who am I")."""

from __future__ import annotations

import asyncio
import time
from typing import Any, Literal

from pydantic import BaseModel
from quart import Blueprint, current_app, request
from quart_schema import validate_querystring

from abi import __version__
from abi.runtime import Readiness
from abi.server.auth import authenticate
from abi.server.context import current_platform

blueprint = Blueprint("health", __name__, url_prefix="/api/v1")

READINESS_TTL_SECONDS = 1.0
_CACHE_KEY = "abi.readiness"


class HealthQuery(BaseModel):
    probe: Literal["live", "ready"] = "ready"


async def _readiness() -> Readiness:
    cached: tuple[float, Readiness] | None = current_app.extensions.get(_CACHE_KEY)
    now = time.monotonic()
    if cached is not None and now - cached[0] < READINESS_TTL_SECONDS:
        return cached[1]
    readiness = await asyncio.to_thread(current_platform().readiness)
    current_app.extensions[_CACHE_KEY] = (now, readiness)
    return readiness


@blueprint.get("/health")
@validate_querystring(HealthQuery)
async def health(query_args: HealthQuery) -> tuple[dict[str, Any], int]:
    """Liveness (``probe=live``) or readiness with each component's status (503 if not ready)."""
    body: dict[str, Any] = {"live": True, "version": __version__}
    if "Authorization" in request.headers or "X-API-Key" in request.headers:
        principal = await authenticate(request.headers)
        body["principal"] = {"tenant_id": principal.tenant_id, "client_id": principal.client_id}
    if query_args.probe == "live":
        body["status"] = "ok"
        return body, 200
    readiness = await _readiness()
    body.update(
        status="ok" if readiness.ready else "unavailable",
        ready=readiness.ready,
        components=readiness.components,
    )
    return body, 200 if readiness.ready else 503
