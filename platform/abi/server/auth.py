"""Route protection: ``@require_scope("vectors:write")`` and ``current_principal()``.

A protected route accepts a bearer token (``Authorization: Bearer <jwt>``), an API key
(``Authorization: ApiKey <key>`` or ``X-API-Key``), or a token of the configured external
OIDC issuer. The caller must hold every scope named; each principal is also rate limited.
"""

from __future__ import annotations

import asyncio
import functools
from collections.abc import Awaitable, Callable, Mapping
from typing import Any, ParamSpec, TypeVar

from quart import g, request
from quart_schema import security_scheme
from werkzeug.datastructures import Headers

from abi.errors import Forbidden, Unauthenticated
from abi.security import Principal
from abi.server.context import current_platform

P = ParamSpec("P")
R = TypeVar("R")
SCOPES_ATTR = "_abi_required_scopes"


async def authenticate(
    headers: Headers | Mapping[str, str], query_token: str | None = None
) -> Principal:
    """The principal behind the request's credentials (blocking parts run in a thread)."""
    security = current_platform().security
    authorization = headers.get("Authorization")
    if authorization is None and query_token:
        authorization = f"Bearer {query_token}"
    api_key = headers.get("X-API-Key")
    is_api_key = bool(api_key) or (authorization or "").lower().startswith("apikey ")
    if is_api_key or security.revocations.is_stale():
        return await asyncio.to_thread(security.authenticate, authorization, api_key)
    return security.authenticate(authorization, api_key)


def check_scopes(principal: Principal, scopes: tuple[str, ...]) -> None:
    """Forbidden unless the principal holds every scope in ``scopes``."""
    missing = [s for s in scopes if not principal.has_scope(s)]
    if missing:
        raise Forbidden(
            f"this action needs scope {' '.join(missing)}; request a token with it "
            "(the client must be allowed that scope)",
            code="auth.insufficient_scope",
        )


def require_scope(
    *scopes: str,
) -> Callable[[Callable[P, Awaitable[R]]], Callable[P, Awaitable[R]]]:
    """Decorate an async route: authenticate, check ``scopes`` and the rate limit."""

    def decorate(func: Callable[P, Awaitable[R]]) -> Callable[P, Awaitable[R]]:
        @functools.wraps(func)
        async def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
            principal = await authenticate(request.headers)
            check_scopes(principal, scopes)
            current_platform().security.limiter.check(
                f"{principal.tenant_id}/{principal.client_id}"
            )
            g.abi_principal = principal
            return await func(*args, **kwargs)

        setattr(wrapper, SCOPES_ATTR, scopes)
        documented = [{"oauth2": list(scopes)}, {"apiKey": list(scopes)}]
        return security_scheme(documented)(wrapper)

    return decorate


def current_principal() -> Principal:
    """The authenticated caller of the current request (inside a ``require_scope`` route)."""
    principal: Any = g.get("abi_principal")
    if not isinstance(principal, Principal):
        raise Unauthenticated("this route did not authenticate its caller")
    return principal
