"""The workflow engine's leaf steps, executed by the agent service: agent steps query an
agent (named, or chosen by the router), plugin steps call an installed plugin."""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING, Any

from abi.agents.backends.plugin import call_plugin
from abi.agents.querying import QueryOptions
from abi.agents.tracing import trace_scope
from abi.agents.usage import AgentUsage
from abi.agents.workflows.definition import AgentStep, PluginStep
from abi.agents.workflows.engine import StepResult, Trace
from abi.errors import Unavailable

if TYPE_CHECKING:
    from abi.agents.service import AgentService


class ServiceSteps:
    """:class:`abi.agents.workflows.engine.StepRunner` on an :class:`AgentService`."""

    def __init__(self, service: AgentService) -> None:
        self.service = service

    async def run_agent(
        self, tenant_id: str, step: AgentStep, query: str, step_input: Any, trace: Trace
    ) -> StepResult:
        service = self.service
        route: dict[str, Any] | None = None
        if step.agent is not None:
            agent = await asyncio.to_thread(service.registry.get, tenant_id, step.agent)
        else:
            decision = await asyncio.to_thread(service.route, tenant_id, query, step.capabilities)
            route = decision.to_dict()
            agent = await asyncio.to_thread(service.registry.get, tenant_id, decision.agent_id)
        result = await service.queries.query(
            tenant_id,
            agent,
            query,
            QueryOptions(input=step_input, trace_id=trace.trace_id, route=route),
        )
        output = {
            "agent": agent.name,
            "answer": result["answer"],
            "data": result["data"],
            "sources": result["sources"],
        }
        meta = {"agent_id": agent.id, "agent_span_id": result["span_id"], "route": route}
        return StepResult(output, result["answer"], AgentUsage.from_dict(result["usage"]), meta)

    async def run_plugin(
        self, tenant_id: str, step: PluginStep, step_input: Any, trace: Trace
    ) -> StepResult:
        plugins = self.service.plugins
        if plugins is None:
            raise Unavailable(
                "this platform has no plugin service", code="agents.backend_unavailable"
            )
        with trace_scope(trace.trace_id):
            data, text, usage = await asyncio.to_thread(
                call_plugin,
                plugins,
                tenant_id,
                step.plugin,
                step.entry,
                {} if step_input is None else step_input,
            )
        return StepResult(data, text, usage, {"plugin": step.plugin, "entry": step.entry})
