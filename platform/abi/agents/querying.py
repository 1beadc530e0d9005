"""The query pipeline: one request to one agent, end to end.

Loads the conversation history, picks a replica through the agent's balancer, runs the
backend (streaming tokens as events on ``agents.<agent_id>.queries.<query_id>`` when asked),
appends the turn to the conversation and returns the answer with its usage, sources, tool
calls, replica and trace id.
"""

from __future__ import annotations

import asyncio
import re
import time
import uuid
from dataclasses import dataclass
from typing import Any

from abi.agents.backends.base import Answer, Backend, Query
from abi.agents.conversations import ConversationStore, check_conversation_id
from abi.agents.registry import Agent
from abi.agents.replicas import ReplicaPool
from abi.agents.tracing import current_span_id, new_span_id, trace_id_from, trace_scope
from abi.errors import InvalidInput, Unavailable
from abi.events import EventBus
from abi.observability.tracing import annotate, current_trace_id, span

_QUERY_ID = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
MAX_QUERY_CHARS = 100_000


def stream_topic(agent_id: str, query_id: str) -> str:
    """The tenant topic a streamed query's tokens are published on."""
    return f"agents.{agent_id}.queries.{query_id}"


@dataclass
class QueryOptions:
    """Everything about a query besides the agent and the text."""

    conversation_id: str | None = None
    input: Any = None
    stream: bool = False
    query_id: str | None = None
    trace_id: str | None = None
    route: dict[str, Any] | None = None


class QueryEngine:
    """Runs queries against agents' backends."""

    def __init__(
        self,
        backends: dict[str, Backend],
        conversations: ConversationStore,
        replicas: ReplicaPool,
        events: EventBus,
    ) -> None:
        self.backends = backends
        self.conversations = conversations
        self.replicas = replicas
        self.events = events

    def _backend(self, agent: Agent) -> Backend:
        kind = agent.spec.backend.kind
        backend = self.backends.get(kind)
        if backend is None:
            raise Unavailable(
                f"the {kind} backend is not available on this platform "
                f"({'no plugin service' if kind == 'plugin' else 'no vector database'})",
                code="agents.backend_unavailable",
            )
        return backend

    async def query(
        self, tenant_id: str, agent: Agent, text: str, opts: QueryOptions
    ) -> dict[str, Any]:
        if not text.strip() and opts.input is None:
            raise InvalidInput("the query needs text (or input)", code="agents.empty_query")
        if len(text) > MAX_QUERY_CHARS:
            raise InvalidInput(
                f"the query is longer than {MAX_QUERY_CHARS} characters",
                code="agents.query_too_long",
            )
        if opts.query_id is not None and not _QUERY_ID.match(opts.query_id):
            raise InvalidInput(
                "query_id must be 1-64 letters, digits, '_' or '-'", code="agents.invalid_query_id"
            )
        backend = self._backend(agent)
        trace_id = trace_id_from(opts.trace_id or current_trace_id())
        attributes = {"gen_ai.agent.name": agent.name, "gen_ai.agent.id": agent.id}
        with (
            trace_scope(trace_id),
            span(
                "invoke_agent",
                tenant_id=tenant_id,
                attributes=attributes,
                backend=agent.spec.backend.kind,
            ),
        ):
            result = await self._run(
                tenant_id, agent, text, opts, backend=backend, trace_id=trace_id
            )
            annotate(**{f"usage.{k}": v for k, v in result["usage"].items() if v})
            return result

    async def _run(
        self,
        tenant_id: str,
        agent: Agent,
        text: str,
        opts: QueryOptions,
        *,
        backend: Backend,
        trace_id: str,
    ) -> dict[str, Any]:
        span_id = current_span_id() or new_span_id()
        query_id = opts.query_id or uuid.uuid4().hex[:16]
        history: list[dict[str, str]] = []
        if opts.conversation_id is not None:
            check_conversation_id(opts.conversation_id)
            history = await asyncio.to_thread(
                self.conversations.history, tenant_id, opts.conversation_id
            )
        topic = stream_topic(agent.id, query_id)
        query = Query(tenant_id, agent, text, trace_id, span_id, history, opts.input)
        if opts.stream:
            sequence = 0

            async def on_token(token: str) -> None:
                nonlocal sequence
                sequence += 1
                self.events.publish(
                    tenant_id,
                    topic,
                    {"type": "token", "seq": sequence, "text": token, "query_id": query_id},
                )

            query.on_token = on_token
            self.events.publish(
                tenant_id,
                topic,
                {"type": "start", "query_id": query_id, "agent_id": agent.id, "trace_id": trace_id},
            )
        started = time.perf_counter()
        balancer = self.replicas.for_agent(agent)
        try:
            async with balancer.call() as replica:
                query.replica = replica.target
                answer = await backend.answer(query)
        except Exception as exc:
            if opts.stream:
                self.events.publish(
                    tenant_id, topic, {"type": "error", "query_id": query_id, "error": str(exc)}
                )
            raise
        elapsed_ms = round((time.perf_counter() - started) * 1000, 3)
        if opts.conversation_id is not None:
            await asyncio.to_thread(
                self.conversations.append,
                tenant_id,
                opts.conversation_id,
                agent.id,
                text,
                answer.text,
            )
        result = _result(agent, answer, query, query_id=query_id, elapsed_ms=elapsed_ms, opts=opts)
        if opts.stream:
            self.events.publish(tenant_id, topic, {"type": "done", **result})
        return result


def _result(
    agent: Agent,
    answer: Answer,
    query: Query,
    *,
    query_id: str,
    elapsed_ms: float,
    opts: QueryOptions,
) -> dict[str, Any]:
    result: dict[str, Any] = {
        "agent": {"id": agent.id, "name": agent.name, "version": agent.version},
        "query_id": query_id,
        "answer": answer.text,
        "data": answer.data,
        "sources": [p.to_dict() for p in answer.sources],
        "tool_calls": answer.tool_calls,
        "usage": answer.usage.to_dict(),
        "trace_id": query.trace_id,
        "span_id": query.span_id,
        "replica": query.replica,
        "conversation_id": opts.conversation_id,
        "elapsed_ms": elapsed_ms,
    }
    if opts.stream:
        result["stream_topic"] = stream_topic(agent.id, query_id)
    if opts.route is not None:
        result["route"] = opts.route
    return result
