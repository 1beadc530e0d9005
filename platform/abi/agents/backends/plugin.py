"""The plugin backend: the agent's logic is a plugin entry point, called in the sandbox.

The plugin receives JSON ``{"query", "input", "history", "agent", "trace_id"}`` and may
answer JSON (``{"text": ...}`` or ``{"answer": ...}`` is the answer text; the whole object is
the structured output) or plain text.
"""

from __future__ import annotations

import asyncio
import json
from typing import Any

from abi.agents.backends.base import Answer, PluginRunner, Query
from abi.agents.spec import PluginBackend
from abi.agents.usage import AgentUsage
from abi.observability.tracing import annotate, span


def call_plugin(
    plugins: PluginRunner, tenant_id: str, name: str, entry: str, payload: Any
) -> tuple[Any, str, AgentUsage]:
    """Invoke a plugin with ``payload`` as JSON; returns (parsed output, text, usage)."""
    raw = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
    with span(
        "execute_tool", tenant_id=tenant_id, attributes={"gen_ai.tool.name": name}, entry=entry
    ):
        result = plugins.invoke(tenant_id, name, entry, raw)
        annotate(fuel=int(result.usage.fuel), wall_us=int(result.usage.wall_us))
    usage = AgentUsage()
    usage.add_plugin(int(result.usage.fuel), int(result.usage.wall_us))
    text = result.output.decode("utf-8", errors="replace")
    try:
        data: Any = json.loads(text)
    except ValueError:
        return text, text, usage
    if isinstance(data, dict):
        for key in ("text", "answer", "output"):
            if isinstance(data.get(key), str):
                return data, data[key], usage
    return data, text, usage


class PluginAgentBackend:
    """Calls the agent's plugin entry point with the query."""

    def __init__(self, plugins: PluginRunner) -> None:
        self.plugins = plugins

    async def answer(self, query: Query) -> Answer:
        backend = query.agent.spec.backend
        assert isinstance(backend, PluginBackend)
        payload = {
            "query": query.text,
            "input": query.input,
            "history": query.history,
            "agent": query.agent.name,
            "trace_id": query.trace_id,
        }
        data, text, usage = await asyncio.to_thread(
            call_plugin, self.plugins, query.tenant_id, backend.plugin, backend.entry, payload
        )
        if query.on_token is not None:
            await query.on_token(text)
        return Answer(text=text, usage=usage, data=data)
