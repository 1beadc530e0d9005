"""Principals, roles and the scopes each role grants.

A principal is who makes a request: a tenant's OAuth2 client (by token), an API key, or a
subject of an external OpenID Connect issuer. Its scopes decide what it may do; its tenant
decides which data it sees. Scope names are ``<resource>:read`` / ``<resource>:write`` and
``admin`` (platform-wide administration).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum

from abi.errors import InvalidInput

RESOURCES = (
    "tenants",
    "clients",
    "plugins",
    "vectors",
    "agents",
    "workflows",
    "compute",
    "audit",
    "metrics",
    "traces",
)
ADMIN_SCOPE = "admin"
ALL_SCOPES: frozenset[str] = frozenset(
    {ADMIN_SCOPE} | {f"{r}:{m}" for r in RESOURCES for m in ("read", "write")}
)


def _scopes(resources: Iterable[str], modes: Iterable[str]) -> frozenset[str]:
    return frozenset(f"{r}:{m}" for r in resources for m in modes)


_WORKLOADS = ("plugins", "vectors", "agents", "workflows", "compute")


class Role(StrEnum):
    """What a principal is for; each role grants a fixed set of scopes."""

    PLATFORM_ADMIN = "platform_admin"
    TENANT_ADMIN = "tenant_admin"
    DEVELOPER = "developer"
    READER = "reader"

    @property
    def scopes(self) -> frozenset[str]:
        return ROLE_SCOPES[self]

    @classmethod
    def parse(cls, value: str) -> Role:
        try:
            return cls(value)
        except ValueError:
            names = ", ".join(r.value for r in cls)
            raise InvalidInput(
                f"role {value!r} is unknown; use one of {names}", code="security.invalid_role"
            ) from None


ROLE_SCOPES: dict[Role, frozenset[str]] = {
    Role.PLATFORM_ADMIN: ALL_SCOPES,
    Role.TENANT_ADMIN: ALL_SCOPES - {ADMIN_SCOPE, "tenants:write"},
    Role.DEVELOPER: _scopes(_WORKLOADS, ("read", "write"))
    | {"tenants:read", "metrics:read", "traces:read"},
    Role.READER: _scopes((*_WORKLOADS, "tenants", "metrics", "traces"), ("read",)),
}


def parse_scopes(value: str | Iterable[str] | None) -> frozenset[str]:
    """A set of scope names from a space-separated string or an iterable; unknown ones raise."""
    if value is None:
        return frozenset()
    items = value.split() if isinstance(value, str) else list(value)
    unknown = sorted(set(items) - ALL_SCOPES)
    if unknown:
        raise InvalidInput(
            f"unknown scope(s) {', '.join(unknown)}; scopes are 'admin' or "
            f"'<resource>:read|write' for resources {', '.join(RESOURCES)}",
            code="security.invalid_scope",
        )
    return frozenset(items)


def format_scopes(scopes: Iterable[str]) -> str:
    return " ".join(sorted(scopes))


@dataclass(frozen=True)
class Principal:
    """The authenticated caller of one request."""

    tenant_id: str
    client_id: str
    scopes: frozenset[str]
    role: Role
    via: str = "token"
    """How it authenticated: ``token``, ``api_key`` or ``oidc``."""
    token_id: str | None = None
    issued_at: float = 0.0
    """When the credential was issued (epoch seconds; 0 when unknown)."""

    @property
    def is_platform_admin(self) -> bool:
        return ADMIN_SCOPE in self.scopes

    def has_scope(self, scope: str) -> bool:
        return scope in self.scopes

    def can_act_on(self, tenant_id: str) -> bool:
        """True for the principal's own tenant, and for every tenant for platform admins."""
        return tenant_id == self.tenant_id or self.is_platform_admin
