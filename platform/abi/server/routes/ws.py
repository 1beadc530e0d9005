"""The WebSocket hub at /api/v1/ws: a tenant's events, live.

Protocol (JSON text frames):

- Authenticate with ``Authorization: Bearer <token>`` (or an API key header) on the
  handshake, ``?access_token=<token>``, or a first message ``{"type": "auth", "token": ...}``.
  The server answers ``{"type": "welcome", ...}``.
- ``{"type": "subscribe", "topics": ["agents.*", ...]}`` / ``{"type": "unsubscribe", ...}``
  change the topic patterns (glob syntax) of the tenant's events this connection receives;
  answered with ``{"type": "subscribed", "topics": [...]}``.
- Events arrive as ``{"type": "event", "topic", "data", "ts"}`` (a topic that starts with a
  resource name, such as ``agents.`` or ``workflows.``, only with that resource's read
  scope); ``{"type": "heartbeat"}`` comes every ``server.ws_heartbeat_seconds``;
  ``{"type": "ping"}`` gets a ``pong``.
- A client that falls behind (its bounded queue overflows, or a send stalls for a heartbeat
  interval) is disconnected with close code 1013, so it never grows server memory.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from typing import Any

from quart import Blueprint, websocket

from abi.errors import AbiError, InvalidInput, Unauthenticated
from abi.events import Subscription
from abi.security import Principal
from abi.security.principal import RESOURCES
from abi.server.auth import authenticate
from abi.server.context import current_platform
from abi.server.middleware.metrics import WEBSOCKET_DROPS, WEBSOCKETS
from abi.server.middleware.requests import request_id

blueprint = Blueprint("ws", __name__, url_prefix="/api/v1")

AUTH_TIMEOUT_SECONDS = 10.0
MAX_PATTERNS = 64
MAX_PATTERN_CHARS = 128
CLOSE_POLICY = 1008
CLOSE_SLOW = 1013
CLOSE_UNAUTHENTICATED = 4401


def _error(exc: AbiError) -> str:
    return json.dumps(
        {
            "type": "error",
            "error": {"code": exc.code, "message": exc.message, "request_id": request_id()},
        }
    )


async def _authenticate() -> Principal:
    headers = websocket.headers
    query_token = websocket.args.get("access_token")
    if "Authorization" in headers or "X-API-Key" in headers or query_token:
        return await authenticate(headers, query_token)
    await websocket.accept()
    try:
        raw = await asyncio.wait_for(websocket.receive(), AUTH_TIMEOUT_SECONDS)
    except TimeoutError:
        raise Unauthenticated("no credential within 10 s of connecting") from None
    message = _parse(raw)
    token = message.get("token")
    if message.get("type") != "auth" or not isinstance(token, str):
        raise Unauthenticated('authenticate first: {"type": "auth", "token": "<access token>"}')
    return await authenticate({}, token)


def _parse(raw: str | bytes) -> dict[str, Any]:
    try:
        message = json.loads(raw)
    except (ValueError, UnicodeDecodeError):
        raise InvalidInput("messages must be JSON objects") from None
    if not isinstance(message, dict):
        raise InvalidInput("messages must be JSON objects")
    return message


def _topics(message: dict[str, Any]) -> set[str]:
    topics = message.get("topics")
    if not isinstance(topics, list) or not all(
        isinstance(t, str) and 0 < len(t) <= MAX_PATTERN_CHARS for t in topics
    ):
        raise InvalidInput(f"'topics' must be a list of 1-{MAX_PATTERN_CHARS} character patterns")
    return set(topics)


class _Connection:
    """One authenticated WebSocket client."""

    def __init__(self, principal: Principal) -> None:
        settings = current_platform().settings.server
        self.principal = principal
        self.patterns: set[str] = set()
        self.subscription: Subscription | None = None
        self.queue_limit = settings.ws_queue_limit
        self.heartbeat = settings.ws_heartbeat_seconds
        self.send_lock = asyncio.Lock()
        self.subscribed = asyncio.Event()

    async def send(self, payload: dict[str, Any]) -> None:
        """Send one frame; a send that stalls for a heartbeat interval means a slow client."""
        async with self.send_lock:
            await asyncio.wait_for(websocket.send(json.dumps(payload)), self.heartbeat)

    def _set_patterns(self, patterns: set[str]) -> None:
        if len(patterns) > MAX_PATTERNS:
            raise InvalidInput(f"at most {MAX_PATTERNS} topic patterns per connection")
        self.patterns = patterns
        if self.subscription is None:
            bus = current_platform().events
            self.subscription = bus.subscribe(
                self.principal.tenant_id, tuple(sorted(patterns)), self.queue_limit
            )
            self.subscribed.set()
        else:
            self.subscription.patterns = tuple(sorted(patterns))

    async def handle(self, message: dict[str, Any]) -> None:
        kind = message.get("type")
        if kind == "ping":
            await self.send({"type": "pong", "ts": time.time()})
        elif kind in ("subscribe", "unsubscribe"):
            topics = _topics(message)
            new = self.patterns | topics if kind == "subscribe" else self.patterns - topics
            self._set_patterns(new)
            await self.send({"type": "subscribed", "topics": sorted(new)})
        else:
            raise InvalidInput("message type must be subscribe, unsubscribe or ping")

    async def receive_loop(self) -> None:
        while True:
            raw = await websocket.receive()
            try:
                await self.handle(_parse(raw))
            except InvalidInput as exc:
                async with self.send_lock:
                    await websocket.send(_error(exc))

    async def event_loop(self) -> None:
        await self.subscribed.wait()
        assert self.subscription is not None
        async for event in self.subscription:
            if not self.may_see(event.topic):
                continue
            await self.send(
                {"type": "event", "topic": event.topic, "data": event.data, "ts": event.ts}
            )

    def may_see(self, topic: str) -> bool:
        """Topics named after a resource (``agents.…``, ``workflows.…``) need its read scope."""
        resource = topic.split(".", 1)[0]
        return resource not in RESOURCES or self.principal.has_scope(f"{resource}:read")

    async def heartbeat_loop(self) -> None:
        while True:
            await asyncio.sleep(self.heartbeat)
            await self.send({"type": "heartbeat", "ts": time.time()})

    def close(self) -> None:
        if self.subscription is not None:
            self.subscription.close()


async def _serve(connection: _Connection) -> int:
    """Run the connection until the client leaves or falls behind; returns the close code."""
    tasks = [
        asyncio.create_task(connection.receive_loop()),
        asyncio.create_task(connection.event_loop()),
        asyncio.create_task(connection.heartbeat_loop()),
    ]
    try:
        done, _ = await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(BaseException):
                await task
        connection.close()
    for task in done:
        exc = task.exception()
        if isinstance(exc, TimeoutError) or (
            exc is None and connection.subscription and connection.subscription.overflowed
        ):
            WEBSOCKET_DROPS.inc()
            return CLOSE_SLOW
        if exc is not None:
            raise exc
    return 1000


@blueprint.websocket("/ws")
async def events_socket() -> None:
    """Authenticate, then stream the tenant's events for the subscribed topics."""
    try:
        principal = await _authenticate()
    except AbiError as exc:
        await websocket.accept()
        await websocket.send(_error(exc))
        await websocket.close(CLOSE_UNAUTHENTICATED, exc.message[:120])
        return
    connection = _Connection(principal)
    WEBSOCKETS.inc()
    try:
        await connection.send(
            {
                "type": "welcome",
                "tenant_id": principal.tenant_id,
                "client_id": principal.client_id,
                "heartbeat_seconds": connection.heartbeat,
                "request_id": request_id(),
            }
        )
        code = await _serve(connection)
        reason = "client too slow: events dropped" if code == CLOSE_SLOW else ""
        with contextlib.suppress(TimeoutError):  # a client that reads nothing gets no close
            await asyncio.wait_for(websocket.close(code, reason), connection.heartbeat)
    finally:
        WEBSOCKETS.dec()
