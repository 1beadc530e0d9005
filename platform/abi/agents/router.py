"""The router: picks an agent for a request that names none.

1. Required capabilities are a hard constraint: only agents having all of them are eligible.
2. Persona similarity: the request is embedded and compared (cosine) with the embedding of
   each eligible agent's persona text and of each of its example requests; an agent's
   similarity is its best row.
3. Load: the best ``shortlist`` agents by similarity are re-ranked with a penalty of
   ``load_weight * log1p(outstanding requests)``.

Persona embeddings live in a per-tenant in-memory matrix (rows grouped by agent), rebuilt
from the registry's change notifications; a decision is one matrix-vector product. A learned
scorer (:mod:`abi.agents.learned`) may replace step 2's similarity when it has been trained.
"""

from __future__ import annotations

import math
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

import numpy as np
import numpy.typing as npt

from abi.agents.capabilities import NONE, Capability, capability_names
from abi.agents.registry import Agent
from abi.errors import NotFound

F32 = npt.NDArray[np.float32]


class TextEmbedder(Protocol):
    """What the router needs of :class:`abi.neural.embedders.Embedder`."""

    @property
    def dim(self) -> int: ...

    def embed(self, texts: Sequence[str]) -> F32: ...


class Scorer(Protocol):
    """A learned per-agent score for a request embedding (higher is better)."""

    def scores(self, tenant_id: str, query: F32, agent_ids: Sequence[str]) -> F32 | None:
        """Scores aligned with ``agent_ids``, or None when the scorer cannot judge."""
        ...


BLOCK_ROWS = 512
"""Rows per matrix-vector block: small enough that BLAS stays on the calling thread. A
multi-threaded BLAS matvec is faster on an idle machine but, on a busy one, waking its
threads can cost milliseconds (seen once on the loaded development machine, not kept as a
benchmark), and a router decision is a latency path; ``abi bench agents`` reports its p99."""


def _similarities(rows: F32, query: F32) -> F32:
    """``rows @ query``, computed block by block on the calling thread."""
    out = np.empty(rows.shape[0], dtype=np.float32)
    for start in range(0, rows.shape[0], BLOCK_ROWS):
        stop = start + BLOCK_ROWS
        np.dot(rows[start:stop], query, out=out[start:stop])
    return out


@dataclass(frozen=True)
class Candidate:
    agent_id: str
    agent_name: str
    similarity: float
    load: int
    score: float
    best_match: str

    def to_dict(self) -> dict[str, Any]:
        return {
            "agent_id": self.agent_id,
            "agent_name": self.agent_name,
            "similarity": round(self.similarity, 4),
            "load": self.load,
            "score": round(self.score, 4),
            "best_match": self.best_match,
        }


@dataclass(frozen=True)
class RouteDecision:
    """The chosen agent, the runners-up and why."""

    agent_id: str
    agent_name: str
    mode: str
    required: list[str]
    considered: int
    eligible: int
    candidates: list[Candidate] = field(default_factory=list)
    explanation: str = ""

    def to_dict(self) -> dict[str, Any]:
        return {
            "agent_id": self.agent_id,
            "agent_name": self.agent_name,
            "mode": self.mode,
            "required_capabilities": self.required,
            "agents_considered": self.considered,
            "agents_eligible": self.eligible,
            "candidates": [c.to_dict() for c in self.candidates],
            "explanation": self.explanation,
        }


@dataclass
class _TenantIndex:
    """Immutable snapshot: replaced wholesale on every change (readers never lock)."""

    ids: list[str]
    names: list[str]
    caps: npt.NDArray[np.int64]
    rows: F32
    row_text: list[str]
    starts: npt.NDArray[np.int64]
    ends: npt.NDArray[np.int64]


@dataclass
class _Entry:
    name: str
    caps: int
    vectors: F32
    texts: list[str]


class Router:
    """Capability-filtered, persona-similarity, load-aware agent selection."""

    def __init__(
        self,
        embedder: TextEmbedder,
        load: Callable[[str, str], int] = lambda _t, _a: 0,
        *,
        load_weight: float = 0.05,
        shortlist: int = 16,
        scorer: Scorer | None = None,
    ) -> None:
        self.embedder = embedder
        self.load = load
        self.load_weight = load_weight
        self.shortlist = shortlist
        self.scorer = scorer
        self._lock = threading.Lock()
        self._entries: dict[str, dict[str, _Entry]] = {}
        self._indexes: dict[str, _TenantIndex] = {}

    # -- index maintenance ----------------------------------------------------------------

    def load_agents(self, agents: Sequence[Agent]) -> None:
        """Index many agents at once (at start; one embedding batch per tenant)."""
        by_tenant: dict[str, list[Agent]] = {}
        for agent in agents:
            by_tenant.setdefault(agent.tenant_id, []).append(agent)
        for tenant_id, group in by_tenant.items():
            texts = [agent.spec.persona.texts() or [agent.name] for agent in group]
            flat = [text for per_agent in texts for text in per_agent]
            vectors = self.embedder.embed(flat)
            offset = 0
            with self._lock:
                entries = self._entries.setdefault(tenant_id, {})
                for agent, per_agent in zip(group, texts, strict=True):
                    rows = vectors[offset : offset + len(per_agent)]
                    offset += len(per_agent)
                    entries[agent.id] = _Entry(agent.name, agent.spec.flags.value, rows, per_agent)
                self._rebuild(tenant_id)

    def on_change(self, tenant_id: str, agent_id: str, agent: Agent | None) -> None:
        """Registry listener: re-embed a changed agent, drop a deleted one."""
        if agent is None:
            with self._lock:
                self._entries.get(tenant_id, {}).pop(agent_id, None)
                self._rebuild(tenant_id)
            return
        self.load_agents([agent])

    def _rebuild(self, tenant_id: str) -> None:
        entries = self._entries.get(tenant_id, {})
        if not entries:
            self._indexes.pop(tenant_id, None)
            return
        ids = list(entries)
        chosen = [entries[i] for i in ids]
        counts = np.array([len(e.texts) for e in chosen], dtype=np.int64)
        self._indexes[tenant_id] = _TenantIndex(
            ids=ids,
            names=[e.name for e in chosen],
            caps=np.array([e.caps for e in chosen], dtype=np.int64),
            rows=np.ascontiguousarray(np.vstack([e.vectors for e in chosen]), dtype=np.float32),
            row_text=[text for e in chosen for text in e.texts],
            starts=np.concatenate(([0], np.cumsum(counts)[:-1])).astype(np.int64),
            ends=np.cumsum(counts).astype(np.int64),
        )

    def agent_ids(self, tenant_id: str) -> list[str]:
        index = self._indexes.get(tenant_id)
        return [] if index is None else list(index.ids)

    def agent_count(self, tenant_id: str) -> int:
        index = self._indexes.get(tenant_id)
        return 0 if index is None else len(index.ids)

    # -- decisions ----------------------------------------------------------------------

    def route(
        self,
        tenant_id: str,
        text: str,
        required: Capability = NONE,
        *,
        exclude: Sequence[str] = (),
        learned: bool = True,
    ) -> RouteDecision:
        """The best agent for ``text`` having every ``required`` capability (by the learned
        scorer when ``learned`` and the tenant has one, else by persona similarity)."""
        index = self._indexes.get(tenant_id)
        needed = capability_names(required)
        if index is None:
            raise NotFound(
                "this tenant has no agents to route to; create one first",
                code="agents.no_agents",
            )
        mask = (index.caps & required.value) == required.value
        for agent_id in exclude:
            if agent_id in index.ids:
                mask[index.ids.index(agent_id)] = False
        eligible = int(mask.sum())
        if eligible == 0:
            raise NotFound(
                f"no agent has every required capability ({', '.join(needed) or 'none'}); "
                f"{len(index.ids)} agent(s) considered",
                code="agents.no_capable_agent",
                required=needed,
            )
        query = self.embedder.embed([text])[0]
        row_sims = _similarities(index.rows, query)
        sims = np.maximum.reduceat(row_sims, index.starts)
        mode = "similarity"
        if learned and self.scorer is not None:
            scored = self.scorer.scores(tenant_id, query, index.ids)
            if scored is not None:
                sims, mode = scored.astype(np.float32), "learned"
        ranked = np.where(mask, sims, -np.inf)
        top = min(self.shortlist, eligible)
        shortlist = (
            np.argpartition(-ranked, top - 1)[:top] if top < len(ranked) else np.arange(len(ranked))
        )
        candidates = []
        for i in shortlist:
            if not mask[i]:
                continue
            agent_id = index.ids[int(i)]
            load = int(self.load(tenant_id, agent_id))
            score = float(sims[i]) - self.load_weight * math.log1p(load)
            start = int(index.starts[i])
            best_row = start + int(np.argmax(row_sims[start : int(index.ends[i])]))
            candidates.append(
                Candidate(
                    agent_id,
                    index.names[int(i)],
                    float(sims[i]),
                    load,
                    score,
                    index.row_text[best_row],
                )
            )
        candidates.sort(key=lambda c: (-c.score, c.agent_name))
        best = candidates[0]
        return RouteDecision(
            agent_id=best.agent_id,
            agent_name=best.agent_name,
            mode=mode,
            required=needed,
            considered=len(index.ids),
            eligible=eligible,
            candidates=candidates[:3],
            explanation=_explain(candidates, eligible, len(index.ids), needed, mode),
        )


def _explain(
    ranked: list[Candidate],
    eligible: int,
    considered: int,
    needed: list[str],
    mode: str,
) -> str:
    best, runner_up = ranked[0], ranked[1:2]
    what = "learned score" if mode == "learned" else "persona similarity"
    parts = [
        f"{eligible} of {considered} agents have the required capabilities "
        f"({', '.join(needed) or 'none required'})",
        f"chose {best.agent_name!r}: {what} {best.similarity:.3f} "
        f"(closest to {best.best_match[:80]!r}), load {best.load}",
    ]
    if runner_up:
        other = runner_up[0]
        parts.append(
            f"runner-up {other.agent_name!r}: {what} {other.similarity:.3f}, load {other.load}"
        )
    return "; ".join(parts)
