"""The agent registry: create, list, get, update and delete a tenant's agents.

Every change writes a new version of the definition (kept in ``agent_versions``); the
current one lives in ``agents``. An LLM API key is encrypted with the tenant's data key
(``SecretBox``, the security layer) and stored apart from the spec. Listeners hear about
every change (the router and service discovery keep their indexes current with them).
"""

from __future__ import annotations

import builtins
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

import sqlalchemy as sa

from abi.agents import tables as t
from abi.agents.definitions import DefinitionTable, summary
from abi.agents.spec import AgentSpec, LlmBackend
from abi.agents.validation import parse_definition
from abi.errors import InvalidInput
from abi.store import Database, TenantScope
from abi.store.types import utcnow


class SecretBox(Protocol):
    """Per-tenant encryption at rest (``abi.security.Security`` fills it)."""

    def encrypt(self, tenant_id: str, plaintext: bytes, context: bytes = b"") -> bytes: ...

    def decrypt(self, tenant_id: str, ciphertext: bytes, context: bytes = b"") -> bytes: ...


@dataclass(frozen=True)
class Agent:
    """One agent's current definition."""

    id: str
    tenant_id: str
    name: str
    version: int
    spec: AgentSpec
    has_api_key: bool
    created_at: datetime
    updated_at: datetime

    def to_dict(self) -> dict[str, Any]:
        return {
            **summary(self.id, self.name, self.version, self.created_at, self.updated_at),
            "has_api_key": self.has_api_key,
            **self.spec.model_dump(mode="json", exclude={"name"}),
        }


Listener = Callable[[str, str, "Agent | None"], None]
"""Called with (tenant_id, agent_id, agent) after a change; agent is None on delete."""


def parse_spec(data: Any) -> AgentSpec:
    """A AgentSpec from JSON-like data; errors name the offending field."""
    return parse_definition(AgentSpec, data, what="agent", code="agents.invalid_definition")


_AGENTS = DefinitionTable(t.agents, "spec", kind="agent", code="agents")


def _secret_context(agent_id: str) -> bytes:
    return f"agent-api-key:{agent_id}".encode()


class AgentRegistry:
    """Versioned agent definitions per tenant."""

    def __init__(self, db: Database, secrets: SecretBox | None, cache_seconds: float = 2.0) -> None:
        self.db = db
        self.secrets = secrets
        self.cache_seconds = cache_seconds
        self._cache: dict[tuple[str, str], tuple[Agent, float]] = {}
        self._listeners: list[Listener] = []
        self._lock = threading.Lock()

    def subscribe(self, listener: Listener) -> None:
        """Call ``listener`` after every create, update and delete."""
        with self._lock:
            self._listeners.append(listener)

    def _notify(self, tenant_id: str, agent_id: str, agent: Agent | None) -> None:
        for key in [k for k in list(self._cache) if k[0] == tenant_id]:  # copy: lookups insert
            self._cache.pop(key, None)
        with self._lock:
            listeners = list(self._listeners)
        for listener in listeners:
            listener(tenant_id, agent_id, agent)

    def _seal(self, tenant_id: str, agent_id: str, key: str) -> bytes:
        if self.secrets is None:
            raise InvalidInput(
                "this platform has no encryption at rest configured, so it cannot store an "
                "API key; configure the security layer",
                code="agents.no_secret_storage",
            )
        return self.secrets.encrypt(tenant_id, key.encode(), _secret_context(agent_id))

    @staticmethod
    def _row_to_agent(row: sa.RowMapping) -> Agent:
        return Agent(
            id=row["id"],
            tenant_id=row["tenant_id"],
            name=row["name"],
            version=row["version"],
            spec=AgentSpec.model_validate(row["spec"]),
            has_api_key=row["secret"] is not None,
            created_at=row["created_at"],
            updated_at=row["updated_at"],
        )

    def create(self, tenant_id: str, definition: Any) -> Agent:
        """Store a new agent (version 1); Conflict when the name is taken."""
        spec, key = parse_spec(definition).without_secret()
        scope = TenantScope(tenant_id)
        agent_id = "ag_" + uuid.uuid4().hex[:16]
        now = utcnow()
        secret = self._seal(tenant_id, agent_id, key) if key else None
        with self.db.begin() as conn:
            document = spec.model_dump(mode="json")
            _AGENTS.insert(conn, scope, agent_id, spec.name, document, now=now, secret=secret)
            scope.insert(
                conn,
                t.agent_versions,
                {"agent_id": agent_id, "version": 1, "spec": document, "created_at": now},
            )
        agent = Agent(agent_id, tenant_id, spec.name, 1, spec, secret is not None, now, now)
        self._notify(tenant_id, agent_id, agent)
        return agent

    def get(self, tenant_id: str, ref: str) -> Agent:
        """The agent with id or name ``ref``."""
        with self.db.begin() as conn:
            return self._row_to_agent(_AGENTS.row(conn, TenantScope(tenant_id), ref))

    def cached(self, tenant_id: str, ref: str) -> Agent | None:
        """The agent as read at most ``cache_seconds`` ago, or None. Changes made in this
        process evict it at once; another process's changes show within ``cache_seconds``."""
        hit = self._cache.get((tenant_id, ref))
        if hit is None or time.monotonic() - hit[1] > self.cache_seconds:
            return None
        return hit[0]

    def get_cached(self, tenant_id: str, ref: str) -> Agent:
        """:meth:`get`, served from the short-lived cache when possible."""
        agent = self.cached(tenant_id, ref)
        if agent is None:
            agent = self.get(tenant_id, ref)
            now = time.monotonic()
            if len(self._cache) >= 10_000:
                self._cache.clear()
            self._cache[(tenant_id, agent.id)] = self._cache[(tenant_id, agent.name)] = (agent, now)
        return agent

    def list(self, tenant_id: str) -> list[Agent]:
        """The tenant's agents by name."""
        with self.db.begin() as conn:
            rows = TenantScope(tenant_id).all(conn, t.agents, order_by=[t.agents.c.name])
        return [self._row_to_agent(row) for row in rows]

    def list_all(self) -> builtins.list[Agent]:
        """Every tenant's agents (for building in-memory indexes at start)."""
        with self.db.begin() as conn:
            rows = conn.execute(sa.select(t.agents)).mappings().all()
        return [self._row_to_agent(row) for row in rows]

    def fingerprint(self, tenant_id: str) -> tuple[int, str]:
        """(number of agents, latest update): changes whenever the tenant's agents do."""
        a = t.agents
        with self.db.begin() as conn:
            count, latest = conn.execute(
                sa.select(sa.func.count(), sa.func.max(a.c.updated_at)).where(
                    a.c.tenant_id == tenant_id
                )
            ).one()
        return int(count), str(latest)

    def update(self, tenant_id: str, ref: str, definition: Any) -> Agent:
        """Replace the definition (version + 1). An LLM backend without ``api_key`` keeps the
        stored key; ``api_key: ""`` removes it; a backend of another kind drops it."""
        spec, key = parse_spec(definition).without_secret()
        scope = TenantScope(tenant_id)
        now = utcnow()
        with self.db.begin() as conn:
            row = _AGENTS.row(conn, scope, ref)
            agent_id = row["id"]
            secret: bytes | None = row["secret"]
            if not isinstance(spec.backend, LlmBackend) or key == "":
                secret = None
            elif key:
                secret = self._seal(tenant_id, agent_id, key)
            document = spec.model_dump(mode="json")
            version = _AGENTS.replace(conn, scope, row, spec.name, document, now=now, secret=secret)
            scope.insert(
                conn,
                t.agent_versions,
                {"agent_id": agent_id, "version": version, "spec": document, "created_at": now},
            )
        agent = Agent(
            agent_id,
            tenant_id,
            spec.name,
            version,
            spec,
            secret is not None,
            row["created_at"],
            now,
        )
        self._notify(tenant_id, agent_id, agent)
        return agent

    def delete(self, tenant_id: str, ref: str) -> None:
        """Remove an agent and its version history."""
        scope = TenantScope(tenant_id)
        with self.db.begin() as conn:
            agent_id = _AGENTS.row(conn, scope, ref)["id"]
            scope.delete(conn, t.agent_versions, t.agent_versions.c.agent_id == agent_id)
            scope.delete(conn, t.agents, t.agents.c.id == agent_id)
        self._notify(tenant_id, agent_id, None)

    def versions(self, tenant_id: str, ref: str) -> builtins.list[tuple[int, AgentSpec, datetime]]:
        """Every stored definition of the agent, oldest first."""
        scope = TenantScope(tenant_id)
        with self.db.begin() as conn:
            agent_id = _AGENTS.row(conn, scope, ref)["id"]
            rows = scope.all(
                conn,
                t.agent_versions,
                t.agent_versions.c.agent_id == agent_id,
                order_by=[t.agent_versions.c.version],
            )
        return [
            (row["version"], AgentSpec.model_validate(row["spec"]), row["created_at"])
            for row in rows
        ]

    def api_key(self, agent: Agent) -> str | None:
        """The agent's decrypted LLM API key, or None."""
        with self.db.begin() as conn:
            row = TenantScope(agent.tenant_id).one(conn, t.agents, t.agents.c.id == agent.id)
        if row is None or row["secret"] is None or self.secrets is None:
            return None
        plain = self.secrets.decrypt(agent.tenant_id, row["secret"], _secret_context(agent.id))
        return plain.decode()
