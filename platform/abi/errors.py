"""The error hierarchy.

Every error Abi raises on purpose is an :class:`AbiError`: it carries a stable, dotted
``code`` (clients match on it), an HTTP ``status`` and a ``message`` that tells the caller
what to fix. Subsystems subclass the families below and give each failure its own code.
"""

from __future__ import annotations

from typing import Any, ClassVar


class AbiError(Exception):
    """Base class: a failure with a stable code, an HTTP status and an actionable message."""

    code: ClassVar[str] = "internal"
    status: ClassVar[int] = 500

    def __init__(self, message: str, *, code: str | None = None, **details: Any) -> None:
        super().__init__(message)
        self.message = message
        if code is not None:
            self.code = code  # type: ignore[misc]
        self.details: dict[str, Any] = details

    def to_dict(self) -> dict[str, Any]:
        """The JSON shape of the error (without the request id, which the server adds)."""
        body: dict[str, Any] = {"code": self.code, "message": self.message}
        if self.details:
            body["details"] = self.details
        return body

    def __repr__(self) -> str:
        return f"{type(self).__name__}(code={self.code!r}, message={self.message!r})"


class InvalidInput(AbiError):
    """The request or argument is malformed; nothing was changed."""

    code = "invalid_input"
    status = 400


class ConfigError(InvalidInput):
    """A setting is missing or has a bad value; the message names the key."""

    code = "config.invalid"


class Unauthenticated(AbiError):
    """No credential, or one that is expired, tampered with or revoked."""

    code = "auth.unauthenticated"
    status = 401


class Forbidden(AbiError):
    """The credential is valid but lacks the scope or role the action needs."""

    code = "auth.forbidden"
    status = 403


class NotFound(AbiError):
    """The named object does not exist (or belongs to another tenant)."""

    code = "not_found"
    status = 404


class Conflict(AbiError):
    """The object already exists or is in a state that forbids the action."""

    code = "conflict"
    status = 409


class PayloadTooLarge(AbiError):
    """The request body or an item in it exceeds a configured size limit."""

    code = "payload_too_large"
    status = 413


class RateLimited(AbiError):
    """Too many requests; retry after ``retry_after`` seconds."""

    code = "rate_limited"
    status = 429

    def __init__(self, message: str, *, retry_after: float, **details: Any) -> None:
        super().__init__(message, retry_after=retry_after, **details)
        self.retry_after = retry_after


class Unavailable(AbiError):
    """A subsystem is not ready or is shutting down; retry later."""

    code = "unavailable"
    status = 503
