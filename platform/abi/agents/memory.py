"""Agent memory on WDBX: passages embedded with the platform's embedder and stored in a
tenant collection with ``{text, source}`` payloads; searched by text.

"Vectors searched" in usage is the size of the collection the search ran over. Concurrent
searches of one collection are combined into batches (:mod:`abi.agents.batching`).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Protocol

from abi.agents.backends.base import Passage
from abi.agents.batching import SearchCombiner
from abi.agents.router import TextEmbedder
from abi.agents.spec import MemorySpec
from abi.errors import InvalidInput, NotFound

MAX_PASSAGES = 10_000


class VectorStoreLike(Protocol):
    """The part of :class:`abi.vectors.store.VectorStore` agent memory uses."""

    def create_collection(
        self, tenant_id: str, name: str, dim: int, *, metric: str = "cosine"
    ) -> Any: ...

    def describe_collection(self, tenant_id: str, name: str) -> dict[str, Any]: ...

    def upsert(
        self, tenant_id: str, name: str, vectors: Any, ids: Any = None, payloads: Any = None
    ) -> list[Any]: ...

    def count(self, tenant_id: str, name: str) -> int: ...

    def search_batch(
        self, tenant_id: str, name: str, vectors: Any, *, k: int = 10, with_payloads: bool = False
    ) -> list[list[dict[str, Any]]]: ...


class VectorMemory:
    """Search and fill agents' memory collections."""

    def __init__(self, vectors: VectorStoreLike, embedder: TextEmbedder) -> None:
        self.vectors = vectors
        self.embedder = embedder
        self.combiner = SearchCombiner(
            lambda tenant, name, queries, k: vectors.search_batch(
                tenant, name, queries, k=k, with_payloads=True
            )
        )

    def search(
        self, tenant_id: str, memory: MemorySpec, text: str, k: int
    ) -> tuple[list[Passage], int]:
        vector = self.embedder.embed([text])[0]
        hits = self.combiner.search(tenant_id, memory.collection, vector, k)
        passages = [
            Passage(
                id=hit["id"],
                score=float(hit["score"]),
                text=str((hit.get("payload") or {}).get(memory.text_field, "")),
                source=(hit.get("payload") or {}).get(memory.source_field),
                payload=hit.get("payload") or {},
            )
            for hit in hits
        ]
        return passages, self.vectors.count(tenant_id, memory.collection)

    def ensure_collection(self, tenant_id: str, memory: MemorySpec) -> dict[str, Any]:
        """The memory collection, created (cosine, embedder dimension) when missing; a
        collection of another dimension is an error."""
        try:
            described = self.vectors.describe_collection(tenant_id, memory.collection)
        except NotFound:
            return dict(
                self.vectors.create_collection(
                    tenant_id, memory.collection, self.embedder.dim, metric="cosine"
                )
            )
        if described.get("dim") != self.embedder.dim:
            raise InvalidInput(
                f"memory collection {memory.collection!r} has dimension {described.get('dim')}, "
                f"but the platform embedder produces {self.embedder.dim}; use another collection",
                code="agents.memory_dimension",
            )
        return described

    def remember(
        self,
        tenant_id: str,
        memory: MemorySpec,
        passages: Sequence[dict[str, Any]],
    ) -> list[Any]:
        """Embed and store passages ``{"text", "source"?, "id"?, ...extra payload}``."""
        if not passages:
            raise InvalidInput("give at least one passage", code="agents.no_passages")
        if len(passages) > MAX_PASSAGES:
            raise InvalidInput(
                f"at most {MAX_PASSAGES} passages per call", code="agents.too_many_passages"
            )
        texts: list[str] = []
        payloads: list[dict[str, Any]] = []
        ids: list[Any] = []
        for i, passage in enumerate(passages):
            text = passage.get("text")
            if not isinstance(text, str) or not text.strip():
                raise InvalidInput(
                    f"passage {i} needs a non-empty 'text'", code="agents.invalid_passage"
                )
            payload = {k: v for k, v in passage.items() if k not in ("id", "text")}
            payload[memory.text_field] = text
            if "source" in passage:
                payload[memory.source_field] = passage["source"]
            texts.append(text)
            payloads.append(payload)
            ids.append(passage.get("id"))
        self.ensure_collection(tenant_id, memory)
        vectors = self.embedder.embed(texts)
        given = None if all(i is None for i in ids) else ids
        if given is not None and any(i is None for i in given):
            raise InvalidInput(
                "give an 'id' for every passage or for none", code="agents.invalid_passage"
            )
        return self.vectors.upsert(tenant_id, memory.collection, vectors, given, payloads)
