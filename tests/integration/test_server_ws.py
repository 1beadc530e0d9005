"""The WebSocket hub over a real server: authentication, subscriptions, tenant isolation,
heartbeats and disconnection of clients that fall behind."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from websockets.exceptions import ConnectionClosed
from websockets.sync.client import ClientConnection, connect

from abi.config import Settings, load_settings
from abi.server.middleware.metrics import WEBSOCKET_DROPS

QUEUE_LIMIT = 4


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return load_settings(
        environ={},
        overrides={
            "data_dir": tmp_path / "data",
            "server": {"ws_heartbeat_seconds": 0.5, "ws_queue_limit": QUEUE_LIMIT},
        },
    )


@pytest.fixture
def acme(tenant_factory: Callable[[str], Any]) -> Any:
    return tenant_factory("acme")


def _ws_url(live_server: Any, query: str = "") -> str:
    return live_server.url.replace("http://", "ws://") + "/api/v1/ws" + query


def _recv(ws: ClientConnection, skip: tuple[str, ...] = ("heartbeat",)) -> dict[str, Any]:
    while True:
        message: dict[str, Any] = json.loads(ws.recv(timeout=10))
        if message["type"] not in skip:
            return message


@contextmanager
def _session(live_server: Any, tenant: Any, topics: list[str]) -> Iterator[ClientConnection]:
    with connect(_ws_url(live_server), additional_headers=tenant.headers()) as ws:
        assert _recv(ws)["type"] == "welcome"
        ws.send(json.dumps({"type": "subscribe", "topics": topics}))
        assert _recv(ws) == {"type": "subscribed", "topics": sorted(topics)}
        yield ws


def test_header_authentication_is_welcomed(live_server: Any, acme: Any) -> None:
    with connect(_ws_url(live_server), additional_headers=acme.headers()) as ws:
        welcome = _recv(ws)
    assert welcome["type"] == "welcome"
    assert welcome["tenant_id"] == acme.tenant_id


def test_query_parameter_authentication(live_server: Any, acme: Any) -> None:
    with connect(_ws_url(live_server, f"?access_token={acme.token()}")) as ws:
        assert _recv(ws)["client_id"] == acme.client_id


def test_first_message_authentication(live_server: Any, acme: Any) -> None:
    with connect(_ws_url(live_server)) as ws:
        ws.send(json.dumps({"type": "auth", "token": acme.token()}))
        assert _recv(ws)["tenant_id"] == acme.tenant_id


@pytest.mark.parametrize(
    "first", [{"type": "auth", "token": "forged"}, {"type": "subscribe", "topics": ["*"]}]
)
def test_unauthenticated_connections_are_closed(live_server: Any, first: dict[str, Any]) -> None:
    with connect(_ws_url(live_server)) as ws:
        ws.send(json.dumps(first))
        error = _recv(ws)
        assert error["type"] == "error"
        assert error["error"]["code"].startswith("auth.")
        with pytest.raises(ConnectionClosed) as closed:
            ws.recv(timeout=10)
    assert closed.value.rcvd is not None
    assert closed.value.rcvd.code == 4401


def test_subscribed_events_arrive_in_order(live_server: Any, acme: Any) -> None:
    bus = live_server.platform.events
    with _session(live_server, acme, ["jobs.*"]) as ws:
        for n in range(3):
            bus.publish(acme.tenant_id, "jobs.progress", {"n": n})
        received = [_recv(ws) for _ in range(3)]
    assert [m["data"]["n"] for m in received] == [0, 1, 2]
    assert {m["topic"] for m in received} == {"jobs.progress"}


def test_other_tenants_events_never_arrive(
    live_server: Any, acme: Any, tenant_factory: Callable[[str], Any]
) -> None:
    other = tenant_factory("other")
    bus = live_server.platform.events
    with _session(live_server, acme, ["*"]) as ws:
        bus.publish(other.tenant_id, "jobs.progress", {"owner": "other"})
        bus.publish(acme.tenant_id, "jobs.progress", {"owner": "acme"})
        assert _recv(ws)["data"] == {"owner": "acme"}


def test_resource_topics_need_the_resources_read_scope(live_server: Any, acme: Any) -> None:
    bus = live_server.platform.events
    url = _ws_url(live_server, f"?access_token={acme.token('vectors:read')}")
    with connect(url) as ws:
        assert _recv(ws)["type"] == "welcome"
        ws.send(json.dumps({"type": "subscribe", "topics": ["*"]}))
        assert _recv(ws)["type"] == "subscribed"
        bus.publish(acme.tenant_id, "agents.a1.inbox", {"n": 1})
        bus.publish(acme.tenant_id, "vectors.docs", {"n": 2})
        assert _recv(ws)["topic"] == "vectors.docs"


def test_unsubscribed_topics_stop_arriving(live_server: Any, acme: Any) -> None:
    bus = live_server.platform.events
    with _session(live_server, acme, ["a", "b"]) as ws:
        ws.send(json.dumps({"type": "unsubscribe", "topics": ["a"]}))
        assert _recv(ws) == {"type": "subscribed", "topics": ["b"]}
        bus.publish(acme.tenant_id, "a", {"x": 1})
        bus.publish(acme.tenant_id, "b", {"x": 2})
        assert _recv(ws)["topic"] == "b"


def test_ping_pong_and_bad_messages(live_server: Any, acme: Any) -> None:
    with _session(live_server, acme, ["x"]) as ws:
        ws.send(json.dumps({"type": "ping"}))
        assert _recv(ws)["type"] == "pong"
        ws.send("not json")
        assert _recv(ws)["error"]["code"] == "invalid_input"
        ws.send(json.dumps({"type": "subscribe", "topics": "x"}))
        assert _recv(ws)["error"]["code"] == "invalid_input"


def test_heartbeats_arrive_while_idle(live_server: Any, acme: Any) -> None:
    with _session(live_server, acme, ["x"]) as ws:
        assert _recv(ws, skip=())["type"] == "heartbeat"


def test_a_slow_client_is_disconnected_and_its_queue_freed(live_server: Any, acme: Any) -> None:
    bus = live_server.platform.events
    drops_before = WEBSOCKET_DROPS._value.get()
    with connect(_ws_url(live_server), additional_headers=acme.headers(), max_queue=1) as ws:
        assert _recv(ws)["type"] == "welcome"
        ws.send(json.dumps({"type": "subscribe", "topics": ["bulk"]}))
        assert _recv(ws)["type"] == "subscribed"
        blob = "x" * 200_000
        published = 200
        for n in range(published):  # far more than the socket buffers and queue hold
            bus.publish(acme.tenant_id, "bulk", {"n": n, "blob": blob})
        received = 0
        with pytest.raises(ConnectionClosed) as closed:
            while True:
                if _recv(ws)["type"] == "event":
                    received += 1
    assert closed.value.rcvd is not None
    assert closed.value.rcvd.code == 1013
    assert received < published
    assert bus.subscribers == 0
    assert WEBSOCKET_DROPS._value.get() == drops_before + 1
