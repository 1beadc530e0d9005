"""The LLM backend: an OpenAI-compatible chat-completions provider.

The prompt is the persona's instructions (plus memory passages when the backend asks for
context), the conversation history and the query. The agent's tools are offered as
functions; each call the model makes runs the tool's plugin in the sandbox and its output
goes back as a ``tool`` message, for up to ``max_tool_rounds`` rounds. Tokens stream
through ``Query.on_token`` when the caller asked for streaming.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from typing import Any

import httpx

from abi.agents.backends.base import Answer, MemorySearch, PluginRunner, Query
from abi.agents.backends.plugin import call_plugin
from abi.agents.llm_client import ChatClient, ToolCall
from abi.agents.registry import Agent
from abi.agents.spec import LlmBackend, ToolSpec
from abi.agents.tracing import new_span_id, traceparent
from abi.errors import AbiError


def tool_definitions(tools: list[ToolSpec]) -> list[dict[str, Any]]:
    """The agent's tools as chat-completions function definitions."""
    return [
        {
            "type": "function",
            "function": {
                "name": tool.tool_name,
                "description": tool.description or f"Plugin {tool.plugin}, entry {tool.entry}",
                "parameters": tool.parameters,
            },
        }
        for tool in tools
    ]


class ToolRoundsExceeded(AbiError):
    """The model kept calling tools past the agent's ``max_tool_rounds``."""

    code = "agents.tool_rounds_exceeded"
    status = 502


class LlmAgentBackend:
    """Chat completions with tool calls executed in the sandbox."""

    def __init__(
        self,
        http: httpx.AsyncClient,
        api_key: Callable[[Agent], str | None],
        plugins: PluginRunner | None,
        memory: MemorySearch | None,
        timeout: float,
    ) -> None:
        self.http = http
        self.api_key = api_key
        self.plugins = plugins
        self.memory = memory
        self.timeout = timeout

    async def _messages(self, query: Query, backend: LlmBackend, answer: Answer) -> list[Any]:
        spec = query.agent.spec
        system = spec.persona.instructions or spec.persona.description
        if backend.context_passages and spec.memory is not None and self.memory is not None:
            passages, searched = await asyncio.to_thread(
                self.memory.search,
                query.tenant_id,
                spec.memory,
                query.text,
                backend.context_passages,
            )
            answer.sources = passages
            answer.usage.vectors_searched += searched
            answer.usage.embeddings += 1
            if passages:
                context = "\n".join(f"- {p.text}" for p in passages)
                system = f"{system}\n\nRelevant passages from memory:\n{context}".strip()
        messages: list[dict[str, Any]] = []
        if system:
            messages.append({"role": "system", "content": system})
        messages.extend(query.history)
        user = (
            query.text
            if query.input is None
            else json.dumps({"query": query.text, "input": query.input})
        )
        messages.append({"role": "user", "content": user})
        return messages

    async def _run_tool(self, query: Query, call: ToolCall, answer: Answer) -> str:
        tools = {tool.tool_name: tool for tool in query.agent.spec.tools}
        tool = tools.get(call.name)
        record: dict[str, Any] = {"id": call.id, "name": call.name, "arguments": call.arguments}
        answer.tool_calls.append(record)
        if tool is None:
            record["error"] = "unknown tool"
            return json.dumps({"error": f"no tool named {call.name!r}"})
        if self.plugins is None:
            record["error"] = "plugins unavailable"
            return json.dumps({"error": "the plugin service is not available"})
        try:
            arguments = json.loads(call.arguments or "{}")
        except ValueError:
            record["error"] = "arguments are not JSON"
            return json.dumps({"error": "tool arguments must be a JSON object"})
        try:
            _data, text, usage = await asyncio.to_thread(
                call_plugin, self.plugins, query.tenant_id, tool.plugin, tool.entry, arguments
            )
        except AbiError as exc:
            record["error"] = exc.code
            return json.dumps({"error": exc.message, "code": exc.code})
        answer.usage.add(usage)
        record["output"] = text
        return text

    async def answer(self, query: Query) -> Answer:
        backend = query.agent.spec.backend
        assert isinstance(backend, LlmBackend)
        base_url = query.replica or backend.base_urls[0]
        key = await asyncio.to_thread(self.api_key, query.agent)
        client = ChatClient(self.http, base_url, backend.model, key, self.timeout)
        answer = Answer(text="")
        messages = await self._messages(query, backend, answer)
        tools = tool_definitions(query.agent.spec.tools)
        options: dict[str, Any] = {}
        if backend.temperature is not None:
            options["temperature"] = backend.temperature
        if backend.max_tokens is not None:
            options["max_tokens"] = backend.max_tokens
        for _round in range(backend.max_tool_rounds + 1):
            headers = {"traceparent": traceparent(query.trace_id, new_span_id())}
            reply = await client.complete(
                messages, tools, on_token=query.on_token, headers=headers, **options
            )
            answer.usage.llm_calls += 1
            answer.usage.prompt_tokens += reply.prompt_tokens
            answer.usage.completion_tokens += reply.completion_tokens
            if not reply.tool_calls:
                answer.text = reply.content
                return answer
            messages.append(reply.to_message())
            for call in reply.tool_calls:
                output = await self._run_tool(query, call, answer)
                messages.append({"role": "tool", "tool_call_id": call.id, "content": output})
        raise ToolRoundsExceeded(
            f"agent {query.agent.name!r} still asked for tools after "
            f"{backend.max_tool_rounds} rounds; raise max_tool_rounds or fix its instructions",
        )
