"""Conversation history per tenant: a query may carry a ``conversation_id``; its earlier
turns are fed to the backend, and the new turn is appended after the answer."""

from __future__ import annotations

import re

from abi.agents import tables as t
from abi.errors import InvalidInput
from abi.store import Database, TenantScope
from abi.store.types import utcnow

_CONVERSATION_ID = re.compile(r"^[A-Za-z0-9_.:-]{1,128}$")


def check_conversation_id(conversation_id: str) -> str:
    if not _CONVERSATION_ID.match(conversation_id):
        raise InvalidInput(
            "conversation_id must be 1-128 letters, digits, '_', '.', ':' or '-'",
            code="agents.invalid_conversation_id",
        )
    return conversation_id


class ConversationStore:
    """Messages of a tenant's conversations, in order."""

    def __init__(self, db: Database, max_turns: int = 20) -> None:
        self.db = db
        self.max_turns = max_turns

    def history(self, tenant_id: str, conversation_id: str) -> list[dict[str, str]]:
        """The last ``max_turns`` user/assistant turns, oldest first."""
        check_conversation_id(conversation_id)
        m = t.conversation_messages
        with self.db.begin() as conn:
            rows = TenantScope(tenant_id).all(
                conn,
                m,
                m.c.conversation_id == conversation_id,
                order_by=[m.c.id.desc()],
                limit=self.max_turns * 2,
            )
        return [{"role": row["role"], "content": row["content"]} for row in reversed(rows)]

    def append(
        self, tenant_id: str, conversation_id: str, agent_id: str, user: str, assistant: str
    ) -> None:
        """Record one turn (the user's text and the agent's answer)."""
        check_conversation_id(conversation_id)
        scope = TenantScope(tenant_id)
        now = utcnow()
        with self.db.begin() as conn:
            for role, content in (("user", user), ("assistant", assistant)):
                scope.insert(
                    conn,
                    t.conversation_messages,
                    {
                        "conversation_id": conversation_id,
                        "agent_id": agent_id,
                        "role": role,
                        "content": content,
                        "created_at": now,
                    },
                )

    def delete(self, tenant_id: str, conversation_id: str) -> int:
        """Forget a conversation; returns the number of messages removed."""
        check_conversation_id(conversation_id)
        m = t.conversation_messages
        with self.db.begin() as conn:
            return TenantScope(tenant_id).delete(conn, m, m.c.conversation_id == conversation_id)
