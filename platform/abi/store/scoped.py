"""Tenant scoping at the store layer.

Every table that holds tenant data has a ``tenant_id`` column. Code that serves a tenant
reads and writes through a :class:`TenantScope`, which adds ``tenant_id = :tenant`` to every
statement, so a handler cannot forget the filter and one tenant never sees another's rows.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection, RowMapping

from abi.errors import InvalidInput


class TenantScope:
    """Statements on tenant-owned tables, restricted to one tenant."""

    def __init__(self, tenant_id: str) -> None:
        if not tenant_id:
            raise InvalidInput("tenant id must be a non-empty string")
        self.tenant_id = tenant_id

    @staticmethod
    def _tenant_column(table: sa.Table) -> sa.Column[Any]:
        if "tenant_id" not in table.c:
            raise TypeError(f"table {table.name} has no tenant_id column; it is not tenant data")
        return table.c.tenant_id

    def where(self, table: sa.Table, *clauses: sa.ColumnElement[bool]) -> sa.ColumnElement[bool]:
        """The tenant filter AND the given clauses."""
        return sa.and_(self._tenant_column(table) == self.tenant_id, *clauses)

    def select(self, table: sa.Table, *clauses: sa.ColumnElement[bool]) -> sa.Select[Any]:
        return sa.select(table).where(self.where(table, *clauses))

    def insert(self, conn: Connection, table: sa.Table, values: Mapping[str, Any]) -> None:
        row = dict(values)
        if row.get("tenant_id", self.tenant_id) != self.tenant_id:
            raise InvalidInput("a row cannot be written for another tenant")
        row["tenant_id"] = self.tenant_id
        conn.execute(table.insert().values(**row))

    def update(
        self,
        conn: Connection,
        table: sa.Table,
        values: Mapping[str, Any],
        *clauses: sa.ColumnElement[bool],
    ) -> int:
        if "tenant_id" in values:
            raise InvalidInput("tenant_id cannot be changed")
        result = conn.execute(table.update().where(self.where(table, *clauses)).values(**values))
        return int(result.rowcount)

    def delete(self, conn: Connection, table: sa.Table, *clauses: sa.ColumnElement[bool]) -> int:
        result = conn.execute(table.delete().where(self.where(table, *clauses)))
        return int(result.rowcount)

    def one(
        self, conn: Connection, table: sa.Table, *clauses: sa.ColumnElement[bool]
    ) -> RowMapping | None:
        return conn.execute(self.select(table, *clauses)).mappings().first()

    def all(
        self,
        conn: Connection,
        table: sa.Table,
        *clauses: sa.ColumnElement[bool],
        order_by: Sequence[sa.ColumnElement[Any]] = (),
        limit: int | None = None,
        offset: int = 0,
    ) -> list[RowMapping]:
        stmt = self.select(table, *clauses).order_by(*order_by).offset(offset)
        if limit is not None:
            stmt = stmt.limit(limit)
        return list(conn.execute(stmt).mappings())
