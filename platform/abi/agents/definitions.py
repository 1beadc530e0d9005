"""A tenant's named, versioned definitions in one table (agents and workflows use it).

Each row has ``id``, ``name`` (unique per tenant), ``version``, a JSON document column and
``created_at`` / ``updated_at``. A row is found by id or by name; writing a definition
under a name another row holds is a Conflict; every update raises the version by one.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa

from abi.errors import Conflict, NotFound
from abi.store import TenantScope


def summary(
    id: str, name: str, version: int, created_at: datetime, updated_at: datetime
) -> dict[str, Any]:
    """The fields every definition's JSON form starts with."""
    return {
        "id": id,
        "name": name,
        "version": version,
        "created_at": created_at.isoformat(),
        "updated_at": updated_at.isoformat(),
    }


class DefinitionTable:
    """Lookup and versioned writes on ``table``, whose document lives in ``column``.

    ``kind`` names the definition in messages ("agent") and ``code`` prefixes the error
    codes (``<code>.not_found``, ``<code>.exists``).
    """

    def __init__(self, table: sa.Table, column: str, kind: str, code: str) -> None:
        self.table = table
        self.column = column
        self.kind = kind
        self.code = code

    def row(self, conn: sa.Connection, scope: TenantScope, ref: str) -> sa.RowMapping:
        """The row with id or name ``ref``; NotFound when there is none."""
        c = self.table.c
        row = scope.one(conn, self.table, sa.or_(c.id == ref, c.name == ref))
        if row is None:
            raise NotFound(f"{self.kind} {ref!r} does not exist", code=f"{self.code}.not_found")
        return row

    def _require_free(
        self, conn: sa.Connection, scope: TenantScope, name: str, *where: Any
    ) -> None:
        if scope.one(conn, self.table, self.table.c.name == name, *where) is not None:
            raise Conflict(f"{self.kind} {name!r} already exists", code=f"{self.code}.exists")

    def insert(
        self,
        conn: sa.Connection,
        scope: TenantScope,
        id: str,
        name: str,
        document: dict[str, Any],
        *,
        now: datetime,
        **extra: Any,
    ) -> None:
        """Store a new definition at version 1; Conflict when ``name`` is taken."""
        self._require_free(conn, scope, name)
        values = {"id": id, "name": name, "version": 1, self.column: document}
        scope.insert(conn, self.table, {**values, **extra, "created_at": now, "updated_at": now})

    def replace(
        self,
        conn: sa.Connection,
        scope: TenantScope,
        row: sa.RowMapping,
        name: str,
        document: dict[str, Any],
        *,
        now: datetime,
        **extra: Any,
    ) -> int:
        """Overwrite ``row`` with a new definition and return its version (old + 1);
        Conflict when another row holds ``name``."""
        self._require_free(conn, scope, name, self.table.c.id != row["id"])
        version = int(row["version"]) + 1
        values = {"name": name, "version": version, self.column: document}
        scope.update(
            conn,
            self.table,
            {**values, **extra, "updated_at": now},
            self.table.c.id == row["id"],
        )
        return version
