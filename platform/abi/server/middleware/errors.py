"""Every failure as JSON: ``{"error": {"code", "message", "request_id", ["details"]}}``."""

from __future__ import annotations

import logging
import math
from typing import Any

from pydantic import ValidationError
from quart import Quart, Response, jsonify
from quart_schema import RequestSchemaValidationError
from werkzeug.exceptions import HTTPException

from abi.errors import AbiError, RateLimited
from abi.server.middleware.requests import request_id

log = logging.getLogger("abi.server")

_HTTP_CODES = {
    400: "invalid_input",
    401: "auth.unauthenticated",
    403: "auth.forbidden",
    404: "not_found",
    405: "method_not_allowed",
    408: "request_timeout",
    413: "payload_too_large",
    415: "unsupported_media_type",
    429: "rate_limited",
}


def error_response(
    status: int, code: str, message: str, details: dict[str, Any] | None = None
) -> Response:
    """The JSON error response every failure uses."""
    body: dict[str, Any] = {"code": code, "message": message, "request_id": request_id()}
    if details:
        body["details"] = details
    response = jsonify({"error": body})
    response.status_code = status
    return response


def _abi_error(exc: AbiError) -> Response:
    response = error_response(exc.status, exc.code, exc.message, exc.details or None)
    if isinstance(exc, RateLimited):
        response.headers["Retry-After"] = str(max(1, math.ceil(exc.retry_after)))
    return response


def _validation_error(exc: RequestSchemaValidationError) -> Response:
    cause = exc.validation_error
    problems: list[dict[str, Any]] = []
    if isinstance(cause, ValidationError):
        problems = [
            {"field": ".".join(str(p) for p in e["loc"]), "message": e["msg"]}
            for e in cause.errors(include_url=False, include_input=False)
        ]
    else:
        problems = [{"field": "", "message": str(cause)}]
    where = "query string" if "Querystring" in type(exc).__name__ else "request body"
    summary = "; ".join(f"{p['field'] or where}: {p['message']}" for p in problems[:5])
    return error_response(400, "invalid_input", f"invalid {where}: {summary}", {"errors": problems})


def _http_error(exc: HTTPException) -> Response:
    status = exc.code or 500
    code = _HTTP_CODES.get(status, f"http.{status}")
    message = exc.description or exc.name
    if status == 404:
        message = "no such route; see GET /api/v1/openapi.json for the API"
    elif status == 405:
        message = "method not allowed on this route; see GET /api/v1/openapi.json"
    elif status == 413:
        message = "request body is larger than the server's limit (server.max_body_bytes)"
    response = error_response(status, code, message)
    if status == 405 and exc.get_headers():
        for name, value in exc.get_headers():
            if name.lower() == "allow":
                response.headers["Allow"] = value
    return response


def _unexpected(exc: Exception) -> Response:
    log.error("unhandled error in request %s", request_id(), exc_info=exc)
    return error_response(
        500, "internal", "internal server error; report the request id to the operator"
    )


def install(app: Quart) -> None:
    app.register_error_handler(AbiError, _abi_error)
    app.register_error_handler(RequestSchemaValidationError, _validation_error)
    app.register_error_handler(HTTPException, _http_error)
    app.register_error_handler(Exception, _unexpected)
