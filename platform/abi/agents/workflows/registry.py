"""Workflow definitions per tenant: create, list, get, update (version + 1), delete."""

from __future__ import annotations

import builtins
import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa

from abi.agents import tables as t
from abi.agents.validation import parse_definition
from abi.agents.workflows.definition import WorkflowSpec
from abi.errors import Conflict, NotFound
from abi.store import Database, TenantScope
from abi.store.types import utcnow


@dataclass(frozen=True)
class Workflow:
    id: str
    tenant_id: str
    name: str
    version: int
    spec: WorkflowSpec
    created_at: datetime
    updated_at: datetime

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "name": self.name,
            "version": self.version,
            "created_at": self.created_at.isoformat(),
            "updated_at": self.updated_at.isoformat(),
            **self.spec.model_dump(mode="json", by_alias=True, exclude={"name"}),
        }


def parse_workflow(data: Any) -> WorkflowSpec:
    """A WorkflowSpec from JSON-like data; errors name the offending field."""
    return parse_definition(
        WorkflowSpec, data, what="workflow", code="workflows.invalid_definition"
    )


def _dump(spec: WorkflowSpec) -> dict[str, Any]:
    return spec.model_dump(mode="json", by_alias=True)


class WorkflowRegistry:
    """A tenant's workflow definitions."""

    def __init__(self, db: Database) -> None:
        self.db = db

    @staticmethod
    def _to_workflow(row: sa.RowMapping) -> Workflow:
        return Workflow(
            id=row["id"],
            tenant_id=row["tenant_id"],
            name=row["name"],
            version=row["version"],
            spec=WorkflowSpec.model_validate(row["definition"]),
            created_at=row["created_at"],
            updated_at=row["updated_at"],
        )

    def _row(self, conn: sa.Connection, scope: TenantScope, ref: str) -> sa.RowMapping:
        w = t.workflows
        row = scope.one(conn, w, sa.or_(w.c.id == ref, w.c.name == ref))
        if row is None:
            raise NotFound(f"workflow {ref!r} does not exist", code="workflows.not_found")
        return row

    def create(self, tenant_id: str, definition: Any) -> Workflow:
        spec = parse_workflow(definition)
        scope = TenantScope(tenant_id)
        now = utcnow()
        workflow_id = "wf_" + uuid.uuid4().hex[:16]
        with self.db.begin() as conn:
            if scope.one(conn, t.workflows, t.workflows.c.name == spec.name) is not None:
                raise Conflict(f"workflow {spec.name!r} already exists", code="workflows.exists")
            scope.insert(
                conn,
                t.workflows,
                {
                    "id": workflow_id,
                    "name": spec.name,
                    "version": 1,
                    "definition": _dump(spec),
                    "created_at": now,
                    "updated_at": now,
                },
            )
        return Workflow(workflow_id, tenant_id, spec.name, 1, spec, now, now)

    def get(self, tenant_id: str, ref: str) -> Workflow:
        with self.db.begin() as conn:
            return self._to_workflow(self._row(conn, TenantScope(tenant_id), ref))

    def list(self, tenant_id: str) -> builtins.list[Workflow]:
        with self.db.begin() as conn:
            rows = TenantScope(tenant_id).all(conn, t.workflows, order_by=[t.workflows.c.name])
        return [self._to_workflow(row) for row in rows]

    def update(self, tenant_id: str, ref: str, definition: Any) -> Workflow:
        spec = parse_workflow(definition)
        scope = TenantScope(tenant_id)
        now = utcnow()
        w = t.workflows
        with self.db.begin() as conn:
            row = self._row(conn, scope, ref)
            if scope.one(conn, w, w.c.name == spec.name, w.c.id != row["id"]) is not None:
                raise Conflict(f"workflow {spec.name!r} already exists", code="workflows.exists")
            version = row["version"] + 1
            scope.update(
                conn,
                w,
                {
                    "name": spec.name,
                    "version": version,
                    "definition": _dump(spec),
                    "updated_at": now,
                },
                w.c.id == row["id"],
            )
        return Workflow(row["id"], tenant_id, spec.name, version, spec, row["created_at"], now)

    def delete(self, tenant_id: str, ref: str) -> None:
        scope = TenantScope(tenant_id)
        with self.db.begin() as conn:
            row = self._row(conn, scope, ref)
            scope.delete(conn, t.workflows, t.workflows.c.id == row["id"])
