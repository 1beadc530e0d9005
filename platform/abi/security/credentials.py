"""What OAuth2 clients and API keys share: a tenant's named credential with a role and scopes.

Each kind keeps its own id, secret hash and table; this holds the common fields, their
column values, their public form and the name check.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa

from abi.errors import InvalidInput
from abi.security.principal import Role, format_scopes

MAX_NAME = 128


@dataclass(frozen=True)
class Credential:
    """The fields every credential has (subclasses add their id and the rest)."""

    tenant_id: str
    name: str
    role: Role
    scopes: frozenset[str]
    created_at: datetime

    def columns(self) -> dict[str, Any]:
        """The shared column values of this credential's row (the tenant id comes from
        ``TenantScope.insert``)."""
        return {
            "name": self.name,
            "role": self.role.value,
            "scopes": format_scopes(self.scopes),
            "created_at": self.created_at,
        }

    def public_fields(self) -> dict[str, object]:
        """The shared fields of the credential's public (secret-free) form."""
        return {
            "tenant_id": self.tenant_id,
            "name": self.name,
            "role": self.role.value,
            "scopes": format_scopes(self.scopes),
            "created_at": self.created_at.isoformat(),
        }


def fields_from_row(row: sa.RowMapping) -> dict[str, Any]:
    """The :class:`Credential` fields stored in a credential row."""
    return {
        "tenant_id": row["tenant_id"],
        "name": row["name"],
        "role": Role(row["role"]),
        "scopes": frozenset(row["scopes"].split()),
        "created_at": row["created_at"],
    }


def check_name(name: str, kind: str, code: str) -> None:
    """InvalidInput (``code``) unless ``name`` is 1 to 128 characters."""
    if not name or len(name) > MAX_NAME:
        raise InvalidInput(f"{kind} name must be 1-{MAX_NAME} characters", code=code)
