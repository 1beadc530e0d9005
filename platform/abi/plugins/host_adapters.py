"""Adapters from the platform's subsystems to the host-service protocols plugins call through
(:mod:`abi.plugins.host.base`): WDBX for ``vectors.read`` / ``vectors.write``, the default
embedder for ``embed`` and agent queries for ``agents.call``. Results are plain JSON values."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from abi.errors import NotFound
from abi.plugins.host.base import HostFailure

MAX_ITEMS = 1000


def _plain(value: Any) -> Any:
    """``value`` with numpy arrays and scalars turned into JSON types."""
    if isinstance(value, Mapping):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    tolist = getattr(value, "tolist", None)
    if callable(tolist):
        return tolist()
    return value


def _bounded(items: list[Any], what: str) -> list[Any]:
    if len(items) > MAX_ITEMS:
        raise HostFailure("bad_argument", f"at most {MAX_ITEMS} {what} per call")
    return items


class VectorStoreAdapter:
    """:class:`~abi.plugins.host.base.VectorService` over :class:`abi.vectors.VectorStore`."""

    def __init__(self, store: Any) -> None:
        self.store = store

    def search(
        self,
        tenant_id: str,
        collection: str,
        vector: list[float],
        k: int,
        filter: Mapping[str, Any] | None,
    ) -> list[dict[str, Any]]:
        hits = self.store.search(tenant_id, collection, vector, k=k, flt=filter, with_payloads=True)
        return [_plain(hit) for hit in hits]

    def get(self, tenant_id: str, collection: str, ids: list[Any]) -> list[dict[str, Any]]:
        """The stored items among ``ids`` (absent ids are left out)."""
        found = []
        for vid in _bounded(ids, "ids"):
            try:
                found.append(_plain(self.store.get(tenant_id, collection, vid, with_vector=True)))
            except NotFound as exc:
                if getattr(exc, "code", "") == "vectors.collection_not_found":
                    raise
        return found

    def upsert(self, tenant_id: str, collection: str, items: list[dict[str, Any]]) -> int:
        vectors, ids, payloads = [], [], []
        for item in _bounded(items, "items"):
            if not isinstance(item, dict) or "id" not in item or "vector" not in item:
                raise HostFailure("bad_argument", 'each item needs "id" and "vector"')
            ids.append(item["id"])
            vectors.append(item["vector"])
            payloads.append(item.get("payload"))
        if not items:
            return 0
        return len(self.store.upsert(tenant_id, collection, vectors, ids, payloads))

    def delete(self, tenant_id: str, collection: str, ids: list[Any]) -> int:
        return int(self.store.delete(tenant_id, collection, _bounded(ids, "ids")))


class EmbedderAdapter:
    """:class:`~abi.plugins.host.base.EmbedService` over the platform's default embedder."""

    def __init__(self, embedder: Any) -> None:
        self.embedder = embedder

    def embed(self, tenant_id: str, texts: list[str], model: str | None) -> list[list[float]]:
        name = getattr(self.embedder, "name", None)
        if model is not None and model != name:
            raise HostFailure("not_found", f"no embedding model {model!r}; this host has {name!r}")
        if not texts:
            return []
        rows: list[list[float]] = self.embedder.embed(_bounded(texts, "texts")).tolist()
        return rows


class AgentQueryAdapter:
    """:class:`~abi.plugins.host.base.AgentService` over :class:`abi.agents.service.AgentService`:
    a plugin's ``agents.call`` is a blocking query of the tenant's agent."""

    def __init__(self, agents: Any) -> None:
        self.agents = agents

    def call(
        self, tenant_id: str, agent: str, query: str, conversation_id: str | None
    ) -> dict[str, Any]:
        options = {} if conversation_id is None else {"conversation_id": conversation_id}
        answer: dict[str, Any] = _plain(self.agents.query(tenant_id, agent, query, **options))
        return answer
