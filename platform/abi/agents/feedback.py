"""Routing feedback: which agent should have answered a request (the learned router's
training data), kept per tenant."""

from __future__ import annotations

from abi.agents import tables as t
from abi.errors import InvalidInput
from abi.store import Database, TenantScope
from abi.store.types import utcnow

MAX_TEXT = 10_000


class FeedbackStore:
    """Append and read a tenant's routing feedback."""

    def __init__(self, db: Database) -> None:
        self.db = db

    def add(self, tenant_id: str, examples: list[tuple[str, str]]) -> int:
        """Record (request text, agent id) pairs; returns how many."""
        for text, _agent in examples:
            if not text.strip() or len(text) > MAX_TEXT:
                raise InvalidInput(
                    f"feedback text must be 1-{MAX_TEXT} characters", code="agents.bad_feedback"
                )
        scope = TenantScope(tenant_id)
        now = utcnow()
        with self.db.begin() as conn:
            for text, agent_id in examples:
                scope.insert(
                    conn,
                    t.routing_feedback,
                    {"text": text, "agent_id": agent_id, "created_at": now},
                )
        return len(examples)

    def all(self, tenant_id: str) -> list[tuple[str, str]]:
        """Every (text, agent id) of the tenant, oldest first."""
        f = t.routing_feedback
        with self.db.begin() as conn:
            rows = TenantScope(tenant_id).all(conn, f, order_by=[f.c.id])
        return [(row["text"], row["agent_id"]) for row in rows]
