"""Workflow definitions per tenant: create, list, get, update (version + 1), delete."""

from __future__ import annotations

import builtins
import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa

from abi.agents import tables as t
from abi.agents.definitions import DefinitionTable, summary
from abi.agents.validation import parse_definition
from abi.agents.workflows.definition import WorkflowSpec
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
            **summary(self.id, self.name, self.version, self.created_at, self.updated_at),
            **self.spec.model_dump(mode="json", by_alias=True, exclude={"name"}),
        }


def parse_workflow(data: Any) -> WorkflowSpec:
    """A WorkflowSpec from JSON-like data; errors name the offending field."""
    return parse_definition(
        WorkflowSpec, data, what="workflow", code="workflows.invalid_definition"
    )


def _dump(spec: WorkflowSpec) -> dict[str, Any]:
    return spec.model_dump(mode="json", by_alias=True)


_WORKFLOWS = DefinitionTable(t.workflows, "definition", kind="workflow", code="workflows")


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

    def create(self, tenant_id: str, definition: Any) -> Workflow:
        spec = parse_workflow(definition)
        scope = TenantScope(tenant_id)
        now = utcnow()
        workflow_id = "wf_" + uuid.uuid4().hex[:16]
        with self.db.begin() as conn:
            _WORKFLOWS.insert(conn, scope, workflow_id, spec.name, _dump(spec), now=now)
        return Workflow(workflow_id, tenant_id, spec.name, 1, spec, now, now)

    def get(self, tenant_id: str, ref: str) -> Workflow:
        with self.db.begin() as conn:
            return self._to_workflow(_WORKFLOWS.row(conn, TenantScope(tenant_id), ref))

    def list(self, tenant_id: str) -> builtins.list[Workflow]:
        with self.db.begin() as conn:
            rows = TenantScope(tenant_id).all(conn, t.workflows, order_by=[t.workflows.c.name])
        return [self._to_workflow(row) for row in rows]

    def update(self, tenant_id: str, ref: str, definition: Any) -> Workflow:
        spec = parse_workflow(definition)
        scope = TenantScope(tenant_id)
        now = utcnow()
        with self.db.begin() as conn:
            row = _WORKFLOWS.row(conn, scope, ref)
            version = _WORKFLOWS.replace(conn, scope, row, spec.name, _dump(spec), now=now)
        return Workflow(row["id"], tenant_id, spec.name, version, spec, row["created_at"], now)

    def delete(self, tenant_id: str, ref: str) -> None:
        scope = TenantScope(tenant_id)
        with self.db.begin() as conn:
            row = _WORKFLOWS.row(conn, scope, ref)
            scope.delete(conn, t.workflows, t.workflows.c.id == row["id"])
