"""Workflow runs and their steps, as recorded in the store.

A run row holds the definition it ran (so later edits of the workflow do not change what
a run means), its status, input, output, error, total usage, trace id and a checkpoint: the
context of every finished step, written after each step, from which an interrupted run
resumes. Each step attempt sequence is one row with its input, output, timing and usage.
"""

from __future__ import annotations

import builtins
import uuid
from datetime import datetime
from typing import Any, Literal

import sqlalchemy as sa

from abi.agents import tables as t
from abi.errors import InvalidInput, NotFound
from abi.store import Database, TenantScope
from abi.store.types import utcnow

RunStatus = Literal["pending", "running", "completed", "failed", "cancelled"]
FINISHED: frozenset[str] = frozenset({"completed", "failed", "cancelled"})


def _iso(value: datetime | None) -> str | None:
    return None if value is None else value.isoformat()


def new_run_id() -> str:
    return "run_" + uuid.uuid4().hex[:16]


class RunStore:
    """Persistence of runs and steps (every method is one short transaction)."""

    def __init__(self, db: Database) -> None:
        self.db = db

    def create(
        self,
        tenant_id: str,
        run_id: str,
        *,
        workflow_id: str,
        version: int,
        definition: dict[str, Any],
        run_input: Any,
        trace_id: str,
    ) -> None:
        with self.db.begin() as conn:
            TenantScope(tenant_id).insert(
                conn,
                t.workflow_runs,
                {
                    "id": run_id,
                    "workflow_id": workflow_id,
                    "workflow_version": version,
                    "definition": definition,
                    "status": "pending",
                    "input": run_input,
                    "checkpoint": {},
                    "usage": {},
                    "trace_id": trace_id,
                    "created_at": utcnow(),
                },
            )

    def update(self, tenant_id: str, run_id: str, **values: Any) -> None:
        """Set run columns (status, output, error, usage, checkpoint); finished statuses
        stamp ``finished_at``."""
        if values.get("status") in FINISHED:
            values["finished_at"] = utcnow()
        r = t.workflow_runs
        with self.db.begin() as conn:
            TenantScope(tenant_id).update(conn, r, values, r.c.id == run_id)

    def step_started(
        self,
        tenant_id: str,
        run_id: str,
        step_id: str,
        *,
        kind: str,
        step_input: Any,
        trace_id: str,
        span_id: str,
    ) -> int:
        with self.db.begin() as conn:
            result = conn.execute(
                t.workflow_steps.insert().values(
                    tenant_id=tenant_id,
                    run_id=run_id,
                    step_id=step_id,
                    kind=kind,
                    status="running",
                    attempts=0,
                    input=step_input,
                    usage={},
                    trace_id=trace_id,
                    span_id=span_id,
                    started_at=utcnow(),
                )
            )
            key = result.inserted_primary_key
            assert key is not None
            return int(key[0])

    def step_finished(self, tenant_id: str, row_id: int, **values: Any) -> None:
        s = t.workflow_steps
        with self.db.begin() as conn:
            TenantScope(tenant_id).update(
                conn, s, {**values, "finished_at": utcnow()}, s.c.id == row_id
            )

    def _run_row(self, conn: sa.Connection, tenant_id: str, run_id: str) -> sa.RowMapping:
        row = TenantScope(tenant_id).one(conn, t.workflow_runs, t.workflow_runs.c.id == run_id)
        if row is None:
            raise NotFound(
                f"workflow run {run_id!r} does not exist", code="workflows.run_not_found"
            )
        return row

    def status(self, tenant_id: str, run_id: str) -> str:
        r = t.workflow_runs
        with self.db.begin() as conn:
            found = conn.execute(
                sa.select(r.c.status).where(TenantScope(tenant_id).where(r, r.c.id == run_id))
            ).scalar()
        if found is None:
            raise NotFound(
                f"workflow run {run_id!r} does not exist", code="workflows.run_not_found"
            )
        return str(found)

    def raw(self, tenant_id: str, run_id: str) -> dict[str, Any]:
        """The run row as stored (definition and checkpoint included)."""
        with self.db.begin() as conn:
            return dict(self._run_row(conn, tenant_id, run_id))

    def get(self, tenant_id: str, run_id: str) -> dict[str, Any]:
        """The run with every step record, for inspection."""
        s = t.workflow_steps
        scope = TenantScope(tenant_id)
        with self.db.begin() as conn:
            row = self._run_row(conn, tenant_id, run_id)
            steps = scope.all(conn, s, s.c.run_id == run_id, order_by=[s.c.id])
        return {**_run_summary(row), "input": row["input"], "steps": [_step(s) for s in steps]}

    def list(
        self,
        tenant_id: str,
        workflow_id: str | None = None,
        status: str | None = None,
        limit: int = 50,
    ) -> list[dict[str, Any]]:
        r = t.workflow_runs
        if status is not None and status not in (*FINISHED, "pending", "running"):
            raise InvalidInput(f"unknown run status {status!r}", code="workflows.invalid_status")
        clauses = []
        if workflow_id is not None:
            clauses.append(r.c.workflow_id == workflow_id)
        if status is not None:
            clauses.append(r.c.status == status)
        with self.db.begin() as conn:
            rows = TenantScope(tenant_id).all(
                conn, r, *clauses, order_by=[r.c.created_at.desc()], limit=limit
            )
        return [_run_summary(row) for row in rows]

    def unfinished(self) -> builtins.list[tuple[str, str]]:
        """(tenant_id, run_id) of every run left pending or running (by a stopped process)."""
        r = t.workflow_runs
        with self.db.begin() as conn:
            rows = conn.execute(
                sa.select(r.c.tenant_id, r.c.id).where(r.c.status.in_(("pending", "running")))
            )
            return [(row.tenant_id, row.id) for row in rows]


def _run_summary(row: sa.RowMapping) -> dict[str, Any]:
    return {
        "id": row["id"],
        "workflow_id": row["workflow_id"],
        "workflow_version": row["workflow_version"],
        "status": row["status"],
        "output": row["output"],
        "error": row["error"],
        "usage": row["usage"],
        "trace_id": row["trace_id"],
        "created_at": _iso(row["created_at"]),
        "finished_at": _iso(row["finished_at"]),
    }


def _step(row: sa.RowMapping) -> dict[str, Any]:
    started, finished = row["started_at"], row["finished_at"]
    elapsed = None if finished is None else (finished - started).total_seconds() * 1000
    return {
        "step_id": row["step_id"],
        "kind": row["kind"],
        "status": row["status"],
        "attempts": row["attempts"],
        "input": row["input"],
        "output": row["output"],
        "error": row["error"],
        "usage": row["usage"],
        "trace_id": row["trace_id"],
        "span_id": row["span_id"],
        "started_at": _iso(started),
        "finished_at": _iso(finished),
        "elapsed_ms": None if elapsed is None else round(elapsed, 3),
    }
