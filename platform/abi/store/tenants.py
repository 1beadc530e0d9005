"""Tenants: the unit of isolation. Every other stored object names its tenant."""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime

import sqlalchemy as sa

from abi.errors import Conflict, InvalidInput, NotFound
from abi.store.db import Database, metadata
from abi.store.migrations import Migration, create_tables
from abi.store.types import UTCDateTime

tenants = sa.Table(
    "tenants",
    metadata,
    sa.Column("id", sa.String(64), primary_key=True),
    sa.Column("name", sa.String(64), nullable=False, unique=True),
    sa.Column("created_at", UTCDateTime(), nullable=False),
)

MIGRATIONS = [Migration("tenants", 1, "create tenants", create_tables(tenants))]

_NAME = re.compile(r"^[a-z0-9][a-z0-9-]{0,62}$")


@dataclass(frozen=True)
class Tenant:
    id: str
    name: str
    created_at: datetime


class TenantDirectory:
    """Create, find and list tenants."""

    def __init__(self, db: Database) -> None:
        self.db = db

    def create(self, name: str) -> Tenant:
        if not _NAME.match(name):
            raise InvalidInput(
                f"tenant name {name!r} is invalid: use 1-63 lowercase letters, digits or '-', "
                "starting with a letter or digit",
                code="tenant.invalid_name",
            )
        tenant = Tenant(id="t_" + uuid.uuid4().hex[:16], name=name, created_at=datetime.now(UTC))
        with self.db.begin() as conn:
            if conn.execute(sa.select(tenants.c.id).where(tenants.c.name == name)).first():
                raise Conflict(f"tenant {name!r} already exists", code="tenant.exists")
            conn.execute(tenants.insert().values(**tenant.__dict__))
        return tenant

    def get(self, tenant_id: str) -> Tenant:
        with self.db.begin() as conn:
            row = (
                conn.execute(sa.select(tenants).where(tenants.c.id == tenant_id)).mappings().first()
            )
        if row is None:
            raise NotFound(f"tenant {tenant_id!r} does not exist", code="tenant.not_found")
        return Tenant(**row)

    def by_name(self, name: str) -> Tenant:
        with self.db.begin() as conn:
            row = conn.execute(sa.select(tenants).where(tenants.c.name == name)).mappings().first()
        if row is None:
            raise NotFound(f"tenant {name!r} does not exist", code="tenant.not_found")
        return Tenant(**row)

    def list(self) -> list[Tenant]:
        with self.db.begin() as conn:
            rows = conn.execute(sa.select(tenants).order_by(tenants.c.created_at)).mappings()
            return [Tenant(**row) for row in rows]
