"""The built-in retrieval backend: answers with the top passages of the agent's memory,
with their sources and scores. Needs no model at all."""

from __future__ import annotations

import asyncio

from abi.agents.backends.base import Answer, MemorySearch, Query
from abi.agents.spec import RetrievalBackend
from abi.agents.usage import AgentUsage
from abi.errors import InvalidInput


class RetrievalAgentBackend:
    """Top-k memory search; the answer text lists the passages best first."""

    def __init__(self, memory: MemorySearch) -> None:
        self.memory = memory

    def answer_sync(self, query: Query) -> Answer:
        """The answer, computed on the calling thread (the in-process fast path)."""
        spec = query.agent.spec
        backend = spec.backend
        assert isinstance(backend, RetrievalBackend)
        if spec.memory is None:
            raise InvalidInput(
                f"agent {query.agent.name!r} has the retrieval backend but no memory; "
                "give it a memory collection",
                code="agents.no_memory",
            )
        passages, searched = self.memory.search(
            query.tenant_id, spec.memory, query.text, backend.top_k
        )
        if backend.min_score is not None:
            passages = [p for p in passages if p.score >= backend.min_score]
        text = "\n".join(f"[{i + 1}] {p.text}" for i, p in enumerate(passages))
        usage = AgentUsage(vectors_searched=searched, embeddings=1)
        return Answer(text=text or "No passage in memory matches.", usage=usage, sources=passages)

    async def answer(self, query: Query) -> Answer:
        answer = await asyncio.to_thread(self.answer_sync, query)
        if query.on_token is not None:
            await query.on_token(answer.text)
        return answer
