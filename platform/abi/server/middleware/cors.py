"""CORS: allow the configured origins (``server.cors_origins``; ``*`` allows any) and let
their scripts read the request and trace id headers."""

from __future__ import annotations

from collections.abc import Sequence

from quart import Quart, Response, request

ALLOWED_HEADERS = "Authorization, Content-Type, X-API-Key, X-Request-ID"
ALLOWED_METHODS = "GET, POST, PUT, PATCH, DELETE, OPTIONS"
EXPOSED_HEADERS = "X-Request-ID, X-Trace-ID, Retry-After"


def install(app: Quart, origins: Sequence[str]) -> None:
    if not origins:
        return
    allowed = frozenset(origins)

    @app.after_request
    async def _cors(response: Response) -> Response:
        origin = request.headers.get("Origin")
        if origin is None or ("*" not in allowed and origin not in allowed):
            return response
        response.headers["Access-Control-Allow-Origin"] = "*" if "*" in allowed else origin
        response.headers["Vary"] = "Origin"
        response.headers["Access-Control-Expose-Headers"] = EXPOSED_HEADERS
        if request.method == "OPTIONS":
            response.headers["Access-Control-Allow-Methods"] = ALLOWED_METHODS
            response.headers["Access-Control-Allow-Headers"] = ALLOWED_HEADERS
            response.headers["Access-Control-Max-Age"] = "600"
        return response
