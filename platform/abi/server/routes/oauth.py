"""OAuth2 endpoints: POST /api/v1/oauth/token (client_credentials), GET /api/v1/oauth/jwks,
POST /api/v1/oauth/revoke (RFC 7009)."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

from pydantic import BaseModel, Field
from quart import Blueprint, Response, jsonify, request
from quart_schema import DataSource, validate_request

from abi.security.tokens import HttpRequest
from abi.security.tokens import Response as OAuthResponse
from abi.server.context import current_platform
from abi.server.middleware.requests import request_id

blueprint = Blueprint("oauth", __name__, url_prefix="/api/v1/oauth")


class TokenForm(BaseModel):
    grant_type: str = Field(description="Must be client_credentials.")
    scope: str | None = Field(None, description="Space-separated scopes (default: all allowed).")
    client_id: str | None = Field(None, description="For client_secret_post.")
    client_secret: str | None = Field(None, description="For client_secret_post.")


class RevokeForm(BaseModel):
    token: str
    token_type_hint: str | None = None
    client_id: str | None = None
    client_secret: str | None = None


async def _oauth(form: BaseModel, handler: Callable[[HttpRequest], OAuthResponse]) -> Response:
    platform = current_platform()
    platform.security.limiter.check(f"ip/{request.remote_addr}")
    fields = {k: str(v) for k, v in form.model_dump(exclude_none=True).items()}
    oauth_request = HttpRequest(
        request.method, request.url, dict(request.headers), request.remote_addr, fields
    )
    status, body, headers = await asyncio.to_thread(handler, oauth_request)
    response = jsonify(_as_error(status, body))
    response.status_code = status
    for name, value in headers:
        if name.lower() != "content-type":
            response.headers[name] = value
    return response


def _as_error(status: int, body: dict[str, Any]) -> dict[str, Any]:
    """OAuth2 error bodies keep their RFC 6749 fields and gain Abi's error envelope."""
    if status < 400:
        return body
    code = f"oauth.{body.get('error', 'error')}"
    message = str(body.get("error_description") or body.get("error", "OAuth2 request refused"))
    return {**body, "error": {"code": code, "message": message, "request_id": request_id()}}


@blueprint.post("/token")
@validate_request(TokenForm, source=DataSource.FORM)
async def token(data: TokenForm) -> Response:
    """Exchange client credentials (HTTP Basic or form fields) for a JWT access token."""
    return await _oauth(data, current_platform().security.tokens.token_response)


@blueprint.post("/revoke")
@validate_request(RevokeForm, source=DataSource.FORM)
async def revoke(data: RevokeForm) -> Response:
    """Revoke one of the calling client's tokens (always 200 for unknown tokens, per RFC 7009)."""
    return await _oauth(data, current_platform().security.tokens.revocation_response)


@blueprint.get("/jwks")
async def jwks() -> dict[str, Any]:
    """The public keys that verify this server's access tokens."""
    return current_platform().security.keys.jwks()
