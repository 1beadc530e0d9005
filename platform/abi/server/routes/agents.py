"""Agents over REST: definitions (versioned), queries (JSON, or streamed as events over
/api/v1/ws), memory, replicas, messages, the router and service discovery. Every call is
scoped to the caller's tenant. Reads need ``agents:read``; changes and queries
``agents:write``."""

from __future__ import annotations

import asyncio
from typing import Any

from pydantic import BaseModel, ConfigDict, Field
from quart import Blueprint
from quart_schema import validate_querystring, validate_request

from abi.agents.service import AgentService
from abi.agents.spec import AgentSpec
from abi.server.auth import current_principal, require_scope
from abi.server.context import current_platform

blueprint = Blueprint("agents", __name__, url_prefix="/api/v1")


class QueryBody(BaseModel):
    model_config = ConfigDict(extra="forbid")

    query: str = Field("", max_length=100_000, description="The request text.")
    input: Any = Field(None, description="Structured input passed to the backend.")
    conversation_id: str | None = Field(None, description="Keep and feed history under this id.")
    stream: bool = Field(
        False,
        description="Also publish tokens on agents.<agent_id>.queries.<query_id> "
        "(subscribe over /api/v1/ws first).",
    )
    query_id: str | None = Field(None, description="Caller-chosen id for the stream topic.")
    trace_id: str | None = Field(None, description="Continue this trace (32 hex digits).")


class RouteBody(BaseModel):
    model_config = ConfigDict(extra="forbid")

    query: str = Field(min_length=1, max_length=100_000)
    capabilities: list[str] = Field(default_factory=list, description="Required capabilities.")
    learned: bool = Field(True, description="Use the tenant's learned router when trained.")


class FeedbackExample(BaseModel):
    query: str = Field(min_length=1, max_length=10_000)
    agent: str = Field(min_length=1, description="The agent (id or name) that should answer.")


class FeedbackBody(BaseModel):
    model_config = ConfigDict(extra="forbid")

    examples: list[FeedbackExample] = Field(min_length=1, max_length=10_000)


class TrainBody(BaseModel):
    model_config = ConfigDict(extra="forbid")

    holdout: float = Field(0.2, ge=0, lt=1, description="Share of feedback held out to score.")


class MemoryBody(BaseModel):
    model_config = ConfigDict(extra="forbid")

    passages: list[dict[str, Any]] = Field(
        min_length=1, description='Passages {"text", "source"?, "id"?, ...payload}.'
    )


class MessageBody(BaseModel):
    model_config = ConfigDict(extra="forbid")

    sender: str = Field(min_length=1, max_length=128, description="The sending agent's id.")
    body: dict[str, Any]


class ProvidersQuery(BaseModel):
    capabilities: str | None = Field(None, description="Comma-separated required capabilities.")


def _agents() -> AgentService:
    return current_platform().agents


def _tenant() -> str:
    return current_principal().tenant_id


@blueprint.post("/agents")
@require_scope("agents:write")
@validate_request(AgentSpec)
async def create_agent(data: AgentSpec) -> tuple[dict[str, Any], int]:
    """Create an agent (version 1); an LLM API key is stored encrypted, never returned."""
    agent = await asyncio.to_thread(_agents().registry.create, _tenant(), data)
    return agent.to_dict(), 201


@blueprint.get("/agents")
@require_scope("agents:read")
async def list_agents() -> dict[str, Any]:
    """The tenant's agents."""
    found = await asyncio.to_thread(_agents().registry.list, _tenant())
    return {"agents": [agent.to_dict() for agent in found]}


@blueprint.get("/agents/<ref>")
@require_scope("agents:read")
async def get_agent(ref: str) -> dict[str, Any]:
    """One agent by id or name, with its replicas' state."""
    service = _agents()
    agent = await asyncio.to_thread(service.registry.get, _tenant(), ref)
    return {**agent.to_dict(), "replicas": service.replicas.snapshot(agent.tenant_id, agent.id)}


@blueprint.get("/agents/<ref>/versions")
@require_scope("agents:read")
async def agent_versions(ref: str) -> dict[str, Any]:
    """Every definition the agent has had, oldest first."""
    found = await asyncio.to_thread(_agents().registry.versions, _tenant(), ref)
    return {
        "versions": [
            {"version": v, "created_at": at.isoformat(), **spec.model_dump(mode="json")}
            for v, spec, at in found
        ]
    }


@blueprint.put("/agents/<ref>")
@require_scope("agents:write")
@validate_request(AgentSpec)
async def update_agent(ref: str, data: AgentSpec) -> dict[str, Any]:
    """Replace the definition (a new version). Without ``backend.api_key`` the stored key
    stays; ``"api_key": ""`` removes it."""
    agent = await asyncio.to_thread(_agents().registry.update, _tenant(), ref, data)
    return agent.to_dict()


@blueprint.delete("/agents/<ref>")
@require_scope("agents:write")
async def delete_agent(ref: str) -> tuple[str, int]:
    """Delete an agent and its version history."""
    await asyncio.to_thread(_agents().registry.delete, _tenant(), ref)
    return "", 204


@blueprint.post("/agents/<ref>/query")
@require_scope("agents:write")
@validate_request(QueryBody)
async def query_agent(ref: str, data: QueryBody) -> dict[str, Any]:
    """Ask the agent; the reply carries the answer, sources, tool calls, usage and trace id."""
    return await _agents().aquery(
        _tenant(),
        ref,
        data.query,
        input=data.input,
        conversation_id=data.conversation_id,
        stream=data.stream,
        query_id=data.query_id,
        trace_id=data.trace_id,
    )


@blueprint.post("/agents/<ref>/memory")
@require_scope("agents:write")
@validate_request(MemoryBody)
async def add_memory(ref: str, data: MemoryBody) -> tuple[dict[str, Any], int]:
    """Embed passages and store them in the agent's memory collection (created if needed)."""
    ids = await asyncio.to_thread(_agents().remember, _tenant(), ref, data.passages)
    return {"ids": ids, "count": len(ids)}, 201


@blueprint.post("/agents/<ref>/messages")
@require_scope("agents:write")
@validate_request(MessageBody)
async def send_message(ref: str, data: MessageBody) -> tuple[dict[str, Any], int]:
    """Deliver a message to the agent's inbox topic ``agents.<agent_id>.inbox``."""
    service = _agents()
    tenant = _tenant()
    agent = await asyncio.to_thread(service.registry.get, tenant, ref)
    message = service.bus.send(tenant, data.sender, agent.id, data.body)
    return message.to_dict(), 202


@blueprint.post("/route")
@require_scope("agents:read")
@validate_request(RouteBody)
async def route(data: RouteBody) -> dict[str, Any]:
    """The agent the router would pick for the query, and why (nothing is executed)."""
    decision = await asyncio.to_thread(
        _agents().route, _tenant(), data.query, data.capabilities, learned=data.learned
    )
    return decision.to_dict()


@blueprint.post("/route/feedback")
@require_scope("agents:write")
@validate_request(FeedbackBody)
async def route_feedback(data: FeedbackBody) -> tuple[dict[str, Any], int]:
    """Record which agent should have answered each query (the learned router's examples)."""
    examples = [(example.query, example.agent) for example in data.examples]
    recorded = await asyncio.to_thread(_agents().record_feedback, _tenant(), examples)
    return {"recorded": recorded}, 201


@blueprint.post("/route/train")
@require_scope("agents:write")
@validate_request(TrainBody)
async def route_train(data: TrainBody) -> dict[str, Any]:
    """Train the tenant's learned router on its feedback; held-out accuracy against
    similarity-only routing."""
    report = await asyncio.to_thread(_agents().train_router, _tenant(), data.holdout)
    return report.to_dict()


@blueprint.get("/services/<name>")
@require_scope("agents:read")
@validate_querystring(ProvidersQuery)
async def find_providers(name: str, query_args: ProvidersQuery) -> dict[str, Any]:
    """The tenant's agents offering service ``name`` (with the capabilities asked)."""
    wanted = [c for c in (query_args.capabilities or "").split(",") if c.strip()]
    found = await asyncio.to_thread(_agents().find_providers, _tenant(), name, wanted)
    return {"service": name, "providers": [p.to_dict() for p in found]}
