"""Workflows over REST: definitions (CRUD, versioned) and runs (start, list, inspect,
cancel, resume). A run's steps stream as events on the tenant topic ``workflows.<run_id>``
(subscribe over /api/v1/ws). Reads need ``workflows:read``, the rest ``workflows:write``."""

from __future__ import annotations

import asyncio
from typing import Any

from pydantic import BaseModel, ConfigDict, Field
from quart import Blueprint
from quart_schema import validate_querystring, validate_request

from abi.agents.service import AgentService
from abi.agents.workflows.definition import WorkflowSpec
from abi.server.auth import current_principal, require_scope
from abi.server.context import current_platform

blueprint = Blueprint("workflows", __name__, url_prefix="/api/v1")


class RunBody(BaseModel):
    model_config = ConfigDict(extra="forbid")

    input: Any = Field(None, description="The run's input ({{ input.<key> }} in steps).")
    wait: bool = Field(False, description="Answer when the run has finished.")
    trace_id: str | None = Field(None, description="Continue this trace (32 hex digits).")


class RunsQuery(BaseModel):
    status: str | None = Field(None, description="pending, running, completed, failed, cancelled")
    limit: int = Field(50, ge=1, le=500)


def _agents() -> AgentService:
    return current_platform().agents


def _tenant() -> str:
    return current_principal().tenant_id


@blueprint.post("/workflows")
@require_scope("workflows:write")
@validate_request(WorkflowSpec)
async def create_workflow(data: WorkflowSpec) -> tuple[dict[str, Any], int]:
    """Create a workflow (version 1)."""
    workflow = await asyncio.to_thread(_agents().workflows.create, _tenant(), data)
    return workflow.to_dict(), 201


@blueprint.get("/workflows")
@require_scope("workflows:read")
async def list_workflows() -> dict[str, Any]:
    found = await asyncio.to_thread(_agents().workflows.list, _tenant())
    return {"workflows": [w.to_dict() for w in found]}


@blueprint.get("/workflows/<ref>")
@require_scope("workflows:read")
async def get_workflow(ref: str) -> dict[str, Any]:
    return (await asyncio.to_thread(_agents().workflows.get, _tenant(), ref)).to_dict()


@blueprint.put("/workflows/<ref>")
@require_scope("workflows:write")
@validate_request(WorkflowSpec)
async def update_workflow(ref: str, data: WorkflowSpec) -> dict[str, Any]:
    """Replace the definition (version + 1); runs keep the definition they started with."""
    return (await asyncio.to_thread(_agents().workflows.update, _tenant(), ref, data)).to_dict()


@blueprint.delete("/workflows/<ref>")
@require_scope("workflows:write")
async def delete_workflow(ref: str) -> tuple[str, int]:
    await asyncio.to_thread(_agents().workflows.delete, _tenant(), ref)
    return "", 204


@blueprint.post("/workflows/<ref>/runs")
@require_scope("workflows:write")
@validate_request(RunBody)
async def start_run(ref: str, data: RunBody) -> tuple[dict[str, Any], int]:
    """Start a run (202 with the run id; 200 with the finished run when ``wait``)."""
    service = _agents()
    tenant = _tenant()
    run = await asyncio.to_thread(service.start_run, tenant, ref, data.input, data.trace_id)
    if not data.wait:
        return run, 202
    return await service.wait_run(tenant, run["id"]), 200


@blueprint.get("/workflows/<ref>/runs")
@require_scope("workflows:read")
@validate_querystring(RunsQuery)
async def list_workflow_runs(ref: str, query_args: RunsQuery) -> dict[str, Any]:
    service = _agents()
    tenant = _tenant()
    workflow = await asyncio.to_thread(service.workflows.get, tenant, ref)
    runs = await asyncio.to_thread(
        service.runs.list, tenant, workflow.id, query_args.status, query_args.limit
    )
    return {"runs": runs}


@blueprint.get("/workflow-runs")
@require_scope("workflows:read")
@validate_querystring(RunsQuery)
async def list_runs(query_args: RunsQuery) -> dict[str, Any]:
    """The tenant's runs of every workflow, newest first."""
    runs = await asyncio.to_thread(
        _agents().runs.list, _tenant(), None, query_args.status, query_args.limit
    )
    return {"runs": runs}


@blueprint.get("/workflow-runs/<run_id>")
@require_scope("workflows:read")
async def get_run(run_id: str) -> dict[str, Any]:
    """The run with every step's input, output, timing, usage and trace ids."""
    return await asyncio.to_thread(_agents().runs.get, _tenant(), run_id)


@blueprint.post("/workflow-runs/<run_id>/cancel")
@require_scope("workflows:write")
async def cancel_run(run_id: str) -> dict[str, Any]:
    return await asyncio.to_thread(_agents().cancel_run, _tenant(), run_id)


@blueprint.post("/workflow-runs/<run_id>/resume")
@require_scope("workflows:write")
async def resume_run(run_id: str) -> tuple[dict[str, Any], int]:
    """Continue an interrupted run from its checkpoint."""
    return await asyncio.to_thread(_agents().resume_run, _tenant(), run_id), 202
