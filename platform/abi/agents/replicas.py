"""The replicas of every agent, each behind a :class:`Balancer`.

An LLM agent's replicas are its base URLs; plugin and retrieval agents run in process and
have one replica (``local``), whose balancer still counts outstanding requests (the
router's load signal) and latency. Health checks probe LLM replicas with ``GET <base>/models``.
"""

from __future__ import annotations

import threading
from typing import Any

import httpx

from abi.agents.balancer import Balancer
from abi.agents.registry import Agent
from abi.agents.spec import LlmBackend

LOCAL = "local"


def replica_targets(agent: Agent) -> tuple[str, ...]:
    backend = agent.spec.backend
    return tuple(backend.base_urls) if isinstance(backend, LlmBackend) else (LOCAL,)


class ReplicaPool:
    """One balancer per (tenant, agent), rebuilt when the agent's replicas change."""

    def __init__(self, failure_threshold: int = 5, reset_seconds: float = 30.0) -> None:
        self.failure_threshold = failure_threshold
        self.reset_seconds = reset_seconds
        self._lock = threading.Lock()
        self._pool: dict[tuple[str, str], tuple[tuple[str, ...], Balancer[str]]] = {}

    def for_agent(self, agent: Agent) -> Balancer[str]:
        key = (agent.tenant_id, agent.id)
        targets = replica_targets(agent)
        with self._lock:
            found = self._pool.get(key)
            if found is None or found[0] != targets:
                balancer = Balancer(
                    targets,
                    failure_threshold=self.failure_threshold,
                    reset_seconds=self.reset_seconds,
                )
                self._pool[key] = (targets, balancer)
                return balancer
            return found[1]

    def load(self, tenant_id: str, agent_id: str) -> int:
        """Outstanding requests of the agent (all replicas)."""
        found = self._pool.get((tenant_id, agent_id))
        return 0 if found is None else found[1].outstanding

    def on_change(self, tenant_id: str, agent_id: str, agent: Agent | None) -> None:
        """Registry listener: forget a deleted agent's replicas."""
        if agent is None:
            with self._lock:
                self._pool.pop((tenant_id, agent_id), None)

    def snapshot(self, tenant_id: str, agent_id: str) -> list[dict[str, Any]]:
        found = self._pool.get((tenant_id, agent_id))
        return [] if found is None else found[1].snapshot()

    async def check_health(self, http: httpx.AsyncClient, timeout: float = 5.0) -> int:
        """Probe every LLM replica; returns the number of replicas probed."""

        async def probe(base_url: str) -> bool:
            response = await http.get(f"{base_url}/models", timeout=timeout)
            return response.status_code < 500

        with self._lock:
            balancers = [b for targets, b in self._pool.values() if targets != (LOCAL,)]
        probed = 0
        for balancer in balancers:
            probed += len(await balancer.check_health(probe))
        return probed
