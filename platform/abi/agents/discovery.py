"""Service discovery: agents offer named services (operations with input/output schemas);
other agents and workflows find the providers of a service, optionally requiring
capabilities. The directory is an in-memory view of the registry, kept current by its
change notifications.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import Any

from abi.agents.capabilities import NONE, Capability, satisfies
from abi.agents.registry import Agent
from abi.agents.spec import ServiceSpec


@dataclass(frozen=True)
class Provider:
    """An agent offering a service."""

    agent_id: str
    agent_name: str
    service: ServiceSpec
    capabilities: Capability

    def to_dict(self) -> dict[str, Any]:
        return {
            "agent_id": self.agent_id,
            "agent_name": self.agent_name,
            "service": self.service.model_dump(mode="json"),
        }


class ServiceDirectory:
    """Providers by (tenant, service name)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._services: dict[str, dict[str, list[Provider]]] = {}
        self._agents: dict[tuple[str, str], list[str]] = {}

    def load(self, agents: list[Agent]) -> None:
        """Index every agent (at start)."""
        for agent in agents:
            self.on_change(agent.tenant_id, agent.id, agent)

    def on_change(self, tenant_id: str, agent_id: str, agent: Agent | None) -> None:
        """Registry listener: replace what ``agent_id`` offers (nothing once deleted)."""
        with self._lock:
            services = self._services.setdefault(tenant_id, {})
            for name in self._agents.pop((tenant_id, agent_id), []):
                services[name] = [p for p in services.get(name, []) if p.agent_id != agent_id]
                if not services[name]:
                    del services[name]
            if agent is None:
                return
            flags = agent.spec.flags
            for service in agent.spec.services:
                provider = Provider(agent.id, agent.name, service, flags)
                services.setdefault(service.name, []).append(provider)
            self._agents[(tenant_id, agent_id)] = [s.name for s in agent.spec.services]

    def find(self, tenant_id: str, service: str, capabilities: Capability = NONE) -> list[Provider]:
        """The tenant's providers of ``service`` that have every capability required."""
        with self._lock:
            providers = list(self._services.get(tenant_id, {}).get(service, []))
        found = [p for p in providers if satisfies(p.capabilities, capabilities)]
        return sorted(found, key=lambda p: p.agent_name)

    def services(self, tenant_id: str) -> dict[str, int]:
        """Every service name the tenant's agents offer, with its number of providers."""
        with self._lock:
            return {
                name: len(providers)
                for name, providers in sorted(self._services.get(tenant_id, {}).items())
            }
