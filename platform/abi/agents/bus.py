"""The agent message bus, on the platform's event bus (:mod:`abi.events`).

Direct messages go to an agent's inbox topic ``agents.<agent_id>.inbox``; broadcast events
go to ``agents.events.<topic>``. Because both are ordinary tenant events, anything that
subscribes to the platform bus sees them: other agents, workflows and the WebSocket clients
of the hub. A Redis implementation of the platform bus carries them across nodes unchanged.
"""

from __future__ import annotations

import asyncio
import re
import time
import uuid
from dataclasses import asdict, dataclass, field
from typing import Any

from abi.errors import InvalidInput, Unavailable
from abi.events import Event, EventBus, Subscription

_TOPIC = re.compile(r"^[A-Za-z0-9_-]+(\.[A-Za-z0-9_-]+)*$")
_PATTERN = re.compile(r"^[A-Za-z0-9_*?-]+(\.[A-Za-z0-9_*?-]+)*$")


def inbox_topic(agent_id: str) -> str:
    return f"agents.{agent_id}.inbox"


def event_topic(topic: str) -> str:
    return f"agents.events.{topic}"


@dataclass(frozen=True)
class Message:
    """A message between agents (``recipient`` None for a broadcast event)."""

    sender: str
    recipient: str | None
    body: dict[str, Any]
    id: str = field(default_factory=lambda: "msg_" + uuid.uuid4().hex[:16])
    trace_id: str | None = None
    reply_to: str | None = None
    ts: float = field(default_factory=time.time)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_event(cls, event: Event) -> Message:
        data = event.data
        return cls(
            sender=str(data["sender"]),
            recipient=data.get("recipient"),
            body=dict(data.get("body") or {}),
            id=str(data["id"]),
            trace_id=data.get("trace_id"),
            reply_to=data.get("reply_to"),
            ts=float(data.get("ts", event.ts)),
        )


def _check_topic(topic: str, *, pattern: bool = False) -> None:
    regex = _PATTERN if pattern else _TOPIC
    if len(topic) > 200 or not regex.match(topic):
        kind = "topic pattern" if pattern else "topic"
        raise InvalidInput(
            f"{kind} {topic!r} is invalid: use dot-separated words of letters, digits, '_' "
            "or '-'" + (" (with * or ? wildcards)" if pattern else ""),
            code="agents.invalid_topic",
        )


class AgentBus:
    """Agent-to-agent messages and topic events for one platform."""

    def __init__(self, events: EventBus) -> None:
        self.events = events

    def send(
        self,
        tenant_id: str,
        sender: str,
        recipient: str,
        body: dict[str, Any],
        *,
        trace_id: str | None = None,
        reply_to: str | None = None,
    ) -> Message:
        """Deliver ``body`` to ``recipient``'s inbox."""
        _check_topic(recipient)
        message = Message(sender, recipient, body, trace_id=trace_id, reply_to=reply_to)
        self.events.publish(tenant_id, inbox_topic(recipient), message.to_dict())
        return message

    def publish(
        self,
        tenant_id: str,
        topic: str,
        body: dict[str, Any],
        *,
        sender: str,
        trace_id: str | None = None,
    ) -> Message:
        """Broadcast an event on ``agents.events.<topic>``."""
        _check_topic(topic)
        message = Message(sender, None, body, trace_id=trace_id)
        self.events.publish(tenant_id, event_topic(topic), message.to_dict())
        return message

    def inbox(self, tenant_id: str, agent_id: str, limit: int = 256) -> Subscription:
        """Subscribe to an agent's inbox (inside an event loop)."""
        _check_topic(agent_id)
        return self.events.subscribe(tenant_id, (inbox_topic(agent_id),), limit)

    def subscribe(
        self, tenant_id: str, patterns: tuple[str, ...], limit: int = 256
    ) -> Subscription:
        """Subscribe to broadcast events whose topic matches one of ``patterns``."""
        for pattern in patterns:
            _check_topic(pattern, pattern=True)
        return self.events.subscribe(tenant_id, tuple(event_topic(p) for p in patterns), limit)

    async def request(
        self,
        tenant_id: str,
        sender: str,
        recipient: str,
        body: dict[str, Any],
        *,
        timeout: float = 10.0,
    ) -> Message:
        """Send a message and wait for the reply addressed to its ``reply_to`` inbox."""
        reply_box = f"{sender}.reply-{uuid.uuid4().hex[:12]}"
        subscription = self.inbox(tenant_id, reply_box, limit=4)
        try:
            sent = self.send(tenant_id, sender, recipient, body, reply_to=reply_box)
            try:
                async with asyncio.timeout(timeout):
                    async for event in subscription:
                        reply = Message.from_event(event)
                        if reply.body.get("in_reply_to") == sent.id:
                            return reply
            except TimeoutError:
                pass
            raise Unavailable(
                f"agent {recipient!r} did not reply within {timeout} s",
                code="agents.reply_timeout",
            )
        finally:
            subscription.close()

    def reply(self, tenant_id: str, to: Message, sender: str, body: dict[str, Any]) -> Message:
        """Answer ``to`` on its ``reply_to`` inbox."""
        if to.reply_to is None:
            raise InvalidInput("the message asks for no reply", code="agents.no_reply_to")
        return self.send(
            tenant_id, sender, to.reply_to, {**body, "in_reply_to": to.id}, trace_id=to.trace_id
        )
