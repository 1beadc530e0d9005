"""A locust user that holds one WebSocket connection to /api/v1/ws and measures message
latency: the connect + welcome time once, then ping -> pong round trips."""

from __future__ import annotations

import json
import os
import time
from pathlib import Path
from typing import Any

import websocket
from fixture import API, Fixture
from locust import User, between, task

FIXTURE = Fixture.load(Path(os.environ["LOAD_FIXTURE"]))
PING_MIN = float(os.environ.get("LOAD_WS_PING_MIN_SECONDS", "1"))
PING_MAX = float(os.environ.get("LOAD_WS_PING_MAX_SECONDS", "5"))
TIMEOUT = 30.0


class WebSocketUser(User):
    """One connection per user, kept open for the whole run (the concurrent-users target)."""

    host = FIXTURE.base_url
    wait_time = between(PING_MIN, PING_MAX)
    weight = 1

    def _fire(self, name: str, started: float, length: int, exc: Exception | None) -> None:
        self.environment.events.request.fire(
            request_type="WS",
            name=name,
            response_time=(time.perf_counter() - started) * 1000,
            response_length=length,
            exception=exc,
            context={},
        )

    def on_start(self) -> None:
        token = FIXTURE.scenarios["ws"]["token"]
        url = FIXTURE.base_url.replace("http", "ws", 1) + f"{API}/ws"
        started = time.perf_counter()
        self.ws: websocket.WebSocket | None = None
        try:
            self.ws = websocket.create_connection(
                url, header=[f"Authorization: Bearer {token}"], timeout=TIMEOUT
            )
            welcome = self._until("welcome")
            self._fire("connect + welcome", started, len(json.dumps(welcome)), None)
        except Exception as exc:
            self._fire("connect + welcome", started, 0, exc)
            self.ws = None

    def _until(self, kind: str) -> dict[str, Any]:
        assert self.ws is not None
        while True:
            message: dict[str, Any] = json.loads(self.ws.recv())
            if message.get("type") == kind:
                return message
            if message.get("type") == "error":
                raise RuntimeError(message["error"]["message"])

    @task
    def ping(self) -> None:
        if self.ws is None:
            return
        started = time.perf_counter()
        try:
            self.ws.send('{"type": "ping"}')
            pong = self._until("pong")
            self._fire("ping -> pong", started, len(json.dumps(pong)), None)
        except Exception as exc:
            self._fire("ping -> pong", started, 0, exc)
            self.ws = None

    def on_stop(self) -> None:
        if self.ws is not None:
            self.ws.close()
