"""Multi-node mode on this machine: a real PostgreSQL (shared metadata store) and a real Redis
(cross-node events and rate limits), with two Abi nodes serving on loopback.

PostgreSQL and Redis come from Debian packages (tools/system-deps.sh installs them); they are
started on free ports in temporary folders for this module and stopped after it.
"""

from __future__ import annotations

import asyncio
import base64
import glob
import json
import os
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
import websockets

from abi.config import Settings, load_settings
from abi.runtime import Platform
from abi.server.app import create_app
from abi.server.embedded import ServerThread

MASTER_KEY = base64.b64encode(b"k" * 32).decode()


def _tool(name: str, pattern: str) -> str | None:
    found = shutil.which(name) or next(iter(sorted(glob.glob(pattern), reverse=True)), None)
    if found is None:
        reason = f"{name} is not installed (tools/system-deps.sh installs it)"
        if os.environ.get("ABI_REQUIRE_TOOLCHAINS"):
            pytest.fail(reason)
        pytest.skip(reason)
    return found


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _wait_port(port: int, process: subprocess.Popen[bytes], what: str) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"{what} exited with {process.returncode}")
        with socket.socket() as sock:
            if sock.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.1)
    raise RuntimeError(f"{what} did not listen on {port} within 60 s")


def _stop(process: subprocess.Popen[bytes]) -> None:
    process.terminate()
    try:
        process.wait(timeout=20)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


@pytest.fixture(scope="module")
def redis_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    binary = _tool("redis-server", "/usr/bin/redis-server")
    port = _free_port()
    folder = tmp_path_factory.mktemp("redis")
    args = [str(binary), "--port", str(port), "--bind", "127.0.0.1", "--save", ""]
    args += ["--appendonly", "no", "--dir", str(folder)]
    process = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        _wait_port(port, process, "redis-server")
        yield f"redis://127.0.0.1:{port}/0"
    finally:
        _stop(process)


@pytest.fixture(scope="module")
def postgres_url() -> Iterator[str]:
    initdb = _tool("initdb", "/usr/lib/postgresql/*/bin/initdb")
    postgres = str(Path(str(initdb)).with_name("postgres"))
    root = Path(tempfile.mkdtemp(prefix="abi-pg-"))
    data = root / "data"
    as_user: list[str] = []
    if os.geteuid() == 0:  # PostgreSQL refuses to run as root: run it as its own user
        shutil.chown(root, "postgres")
        as_user = ["runuser", "-u", "postgres", "--"]
    try:
        subprocess.run(
            [*as_user, str(initdb), "-D", str(data), "-U", "abi", "--auth=trust", "-E", "UTF8"],
            check=True,
            capture_output=True,
        )
        port = _free_port()
        process = subprocess.Popen(
            [*as_user, postgres, "-D", str(data), "-p", str(port), "-h", "127.0.0.1", "-k", "",
             "-c", "fsync=off", "-c", "synchronous_commit=off", "-c", "full_page_writes=off"],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )  # fmt: skip
        try:
            _wait_port(port, process, "postgres")
            yield f"postgresql+psycopg://abi@127.0.0.1:{port}/postgres"
        finally:
            _stop(process)
    finally:
        shutil.rmtree(root, ignore_errors=True)


@dataclass
class Node:
    platform: Platform
    server: ServerThread

    @property
    def url(self) -> str:
        return self.server.url


def _settings(data_dir: Path, postgres_url: str, redis_url: str) -> Settings:
    return load_settings(
        environ={},
        overrides={
            "data_dir": data_dir,
            "store": {"database_url": postgres_url, "redis_url": redis_url},
            "security": {"master_key": MASTER_KEY},
            "server": {"rate_limit_per_minute": 1, "rate_limit_burst": 6},  # refills 1/min
        },
    )


@pytest.fixture(scope="module")
def nodes(
    tmp_path_factory: pytest.TempPathFactory, postgres_url: str, redis_url: str
) -> Iterator[tuple[Node, Node]]:
    """Two nodes, each with its own data directory; they share PostgreSQL, Redis, the master
    key and the token signing key (what a Kubernetes Secret or shared volume provides)."""
    root = tmp_path_factory.mktemp("nodes")
    started: list[Node] = []
    try:
        for name in ("a", "b"):
            data_dir = root / name
            if started:
                shutil.copytree(started[0].platform.settings.data_dir / "keys", data_dir / "keys")
            platform = Platform(_settings(data_dir, postgres_url, redis_url))
            platform.start()
            started.append(Node(platform, ServerThread(create_app(platform)).start()))
        yield started[0], started[1]
    finally:
        for node in started:
            node.server.stop()
            node.platform.stop()


@dataclass
class Tenant:
    tenant_id: str
    headers: dict[str, str]


def _tenant(node: Node, name: str) -> Tenant:
    security = node.platform.security
    issued = security.create_tenant(name, actor="test")
    token = security.tokens.issue(issued.client, None)["access_token"]
    return Tenant(issued.tenant.id, {"Authorization": f"Bearer {token}"})


def test_both_nodes_report_the_redis_cluster_ready(nodes: tuple[Node, Node]) -> None:
    for node in nodes:
        body = httpx.get(f"{node.url}/api/v1/health").json()
        assert body["ready"] is True
        assert body["components"]["cluster"]["mode"] == "redis"
        assert body["components"]["cluster"]["redis_connected"] is True


def test_a_write_through_one_node_is_visible_through_the_other(
    nodes: tuple[Node, Node],
) -> None:
    a, b = nodes
    acme = _tenant(a, "acme-write")
    created = httpx.post(
        f"{a.url}/api/v1/clients",
        json={"name": "ci", "role": "reader"},
        headers=acme.headers,
    )
    assert created.status_code == 201, created.text
    listed = httpx.get(f"{b.url}/api/v1/clients", headers=acme.headers)
    assert listed.status_code == 200, listed.text
    assert "ci" in [c["name"] for c in listed.json()["clients"]]


def test_a_token_issued_by_one_node_is_accepted_by_the_other(nodes: tuple[Node, Node]) -> None:
    a, b = nodes
    acme = _tenant(a, "acme-token")
    response = httpx.get(f"{b.url}/api/v1/health", headers=acme.headers)
    assert response.json()["principal"]["tenant_id"] == acme.tenant_id


async def _receive_event(url: str, token: str, publish: Any) -> dict[str, Any]:
    ws_url = url.replace("http://", "ws://") + "/api/v1/ws"
    async with websockets.connect(
        ws_url, additional_headers={"Authorization": f"Bearer {token}"}
    ) as ws:
        assert json.loads(await ws.recv())["type"] == "welcome"
        await ws.send(json.dumps({"type": "subscribe", "topics": ["demo.*"]}))
        assert json.loads(await ws.recv())["type"] == "subscribed"
        publish()
        while True:
            message: dict[str, Any] = json.loads(await asyncio.wait_for(ws.recv(), 10))
            if message["type"] == "event":
                return message


def test_an_event_published_on_one_node_reaches_a_websocket_client_of_the_other(
    nodes: tuple[Node, Node],
) -> None:
    a, b = nodes
    acme = _tenant(a, "acme-events")
    token = acme.headers["Authorization"].removeprefix("Bearer ")

    def publish() -> None:
        a.platform.events.publish(acme.tenant_id, "demo.hello", {"from": "a"})

    event = asyncio.run(_receive_event(b.url, token, publish))
    assert (event["topic"], event["data"]) == ("demo.hello", {"from": "a"})


def test_events_of_another_tenant_do_not_cross(nodes: tuple[Node, Node]) -> None:
    a, b = nodes
    acme, rival = _tenant(a, "acme-iso"), _tenant(a, "rival-iso")
    token = acme.headers["Authorization"].removeprefix("Bearer ")

    def publish() -> None:
        a.platform.events.publish(rival.tenant_id, "demo.secret", {"n": 1})
        a.platform.events.publish(acme.tenant_id, "demo.mine", {"n": 2})

    event = asyncio.run(_receive_event(b.url, token, publish))
    assert event["topic"] == "demo.mine"


def test_rate_limits_hold_across_nodes(nodes: tuple[Node, Node]) -> None:
    a, b = nodes
    acme = _tenant(a, "acme-limits")
    statuses = [
        httpx.get(f"{node.url}/api/v1/audit", headers=acme.headers).status_code
        for _ in range(4)
        for node in (a, b)
    ]
    assert statuses[:6] == [200] * 6  # the burst is 6, shared by both nodes
    assert statuses[6:] == [429, 429]


VECTORS = "/api/v1/database"


def _make_docs(node: Node, tenant: Tenant) -> None:
    created = httpx.post(
        f"{node.url}{VECTORS}/collections",
        json={"name": "docs", "dimension": 3, "metric": "cosine"},
        headers=tenant.headers,
    )
    assert created.status_code == 201, created.text
    vectors = [{"id": "east", "vector": [1, 0, 0]}, {"id": "north", "vector": [0, 1, 0]}]
    written = httpx.post(
        f"{node.url}{VECTORS}/vectors",
        json={"collection": "docs", "vectors": vectors},
        headers=tenant.headers,
    )
    assert written.status_code == 200, written.text


def _nearest(url: str, tenant: Tenant, vector: str) -> list[Any]:
    reply = httpx.get(
        f"{url}{VECTORS}/search",
        params={"collection": "docs", "vector": vector, "k": 1},
        headers=tenant.headers,
    )
    assert reply.status_code == 200, reply.text
    return [hit["id"] for hit in reply.json()["hits"]]


def test_a_vector_written_through_one_node_is_found_through_the_other(
    nodes: tuple[Node, Node],
) -> None:
    a, b = nodes
    acme = _tenant(a, "acme-vectors")
    _make_docs(a, acme)
    assert _nearest(b.url, acme, "0.1,0.9,0") == ["north"]


def test_a_new_node_catches_up_on_vectors_by_itself(
    nodes: tuple[Node, Node], tmp_path: Path, postgres_url: str, redis_url: str
) -> None:
    a, _b = nodes
    acme = _tenant(a, "acme-newnode")
    _make_docs(a, acme)
    shutil.copytree(a.platform.settings.data_dir / "keys", tmp_path / "keys")
    newcomer = Platform(_settings(tmp_path, postgres_url, redis_url))
    newcomer.start()
    try:
        found = newcomer.vectors.search(acme.tenant_id, "docs", [0.9, 0.1, 0.0], k=1)
        assert [hit["id"] for hit in found] == ["east"]
        assert newcomer.vectors.stats(acme.tenant_id, "docs")["log"] == "database"
    finally:
        newcomer.stop()
