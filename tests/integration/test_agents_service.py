"""The agent service as a library: the message bus, service discovery, the plugin backend,
memory checks and index refresh for changes made by another process."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from abi.agents.bus import Message
from abi.agents.registry import AgentRegistry
from abi.errors import Conflict, InvalidInput, NotFound
from abi.plugins.signing import generate_key, public_key_id
from abi.runtime import Platform
from helpers.plugin_bundles import make_bundle


@pytest.fixture
def tenant(platform: Platform) -> str:
    return platform.tenants.create("svc").id


def test_direct_message_request_and_reply(platform: Platform, tenant: str) -> None:
    bus = platform.agents.bus

    async def scenario() -> Message:
        inbox = bus.inbox(tenant, "calculator")

        async def serve() -> None:
            async for event in inbox:
                asked = Message.from_event(event)
                bus.reply(tenant, asked, "calculator", {"sum": sum(asked.body["numbers"])})
                return

        server = asyncio.create_task(serve())
        reply = await bus.request(tenant, "planner", "calculator", {"numbers": [1, 2, 3]})
        await server
        inbox.close()
        return reply

    reply = asyncio.run(scenario())
    assert reply.sender == "calculator" and reply.body["sum"] == 6


def test_broadcast_reaches_only_matching_subscribers_of_the_tenant(
    platform: Platform, tenant: str
) -> None:
    bus = platform.agents.bus
    other = platform.tenants.create("other").id

    async def scenario() -> tuple[list[str], bool]:
        mine = bus.subscribe(tenant, ("alerts.*",))
        theirs = bus.subscribe(other, ("alerts.*",))
        bus.publish(tenant, "alerts.disk", {"level": "high"}, sender="monitor")
        bus.publish(tenant, "news.daily", {"x": 1}, sender="monitor")
        got = await asyncio.wait_for(mine.get(), 5)
        await asyncio.sleep(0.05)
        leaked = not theirs._queue.empty()
        assert got is not None
        mine.close()
        theirs.close()
        return [got.topic], leaked

    topics, leaked = asyncio.run(scenario())
    assert topics == ["agents.events.alerts.disk"]
    assert not leaked


def test_bad_topics_are_refused(platform: Platform, tenant: str) -> None:
    with pytest.raises(InvalidInput):
        platform.agents.bus.publish(tenant, "a..b", {}, sender="x")
    with pytest.raises(InvalidInput):
        platform.agents.bus.send(tenant, "x", "with space", {})


def test_service_discovery_follows_definition_changes(platform: Platform, tenant: str) -> None:
    service = platform.agents
    offer = {"name": "summarize", "input_schema": {"type": "object"}}
    service.registry.create(
        tenant, {"name": "writer", "capabilities": ["text_generation"], "services": [offer]}
    )
    service.registry.create(tenant, {"name": "coder", "services": [offer]})
    assert [p.agent_name for p in service.find_providers(tenant, "summarize")] == [
        "coder",
        "writer",
    ]
    needed = ["text_generation"]
    assert [p.agent_name for p in service.find_providers(tenant, "summarize", needed)] == ["writer"]
    service.registry.update(tenant, "coder", {"name": "coder"})
    service.registry.delete(tenant, "writer")
    assert service.find_providers(tenant, "summarize") == []
    assert service.discovery.services(tenant) == {}


def test_plugin_backend_answers_with_plugin_output_and_usage(
    platform: Platform, tenant: str
) -> None:
    signing = generate_key()
    platform.plugins.registry.add_publisher(public_key_id(signing), "tests", tenant_id=None)
    platform.plugins.publish(make_bundle("echo", "1.0.0", signing), uploader=None)
    platform.plugins.install(tenant, "echo")
    platform.agents.registry.create(
        tenant, {"name": "bot", "backend": {"kind": "plugin", "plugin": "echo"}}
    )
    result = platform.agents.query(tenant, "bot", "ping", input={"n": 1})
    assert result["answer"].startswith('1.0.0:{"query": "ping", "input": {"n": 1}')
    assert result["usage"]["plugin_calls"] == 1 and result["usage"]["plugin_fuel"] > 0


def test_memory_of_another_dimension_is_refused(platform: Platform, tenant: str) -> None:
    platform.vectors.create_collection(tenant, "small", 8)
    platform.agents.registry.create(
        tenant, {"name": "m", "memory": {"collection": "small"}, "backend": {"kind": "retrieval"}}
    )
    with pytest.raises(InvalidInput) as caught:
        platform.agents.remember(tenant, "m", [{"text": "hello"}])
    assert caught.value.code == "agents.memory_dimension"


def test_router_sees_agents_created_by_another_process(platform: Platform, tenant: str) -> None:
    platform.agents.sync_seconds = 0
    elsewhere = AgentRegistry(platform.db, platform.security)  # no listeners: another node
    definition: dict[str, Any] = {"name": "remote", "persona": {"description": "tax forms"}}
    elsewhere.create(tenant, definition)
    assert platform.agents.route(tenant, "tax forms").agent_name == "remote"
    elsewhere.delete(tenant, "remote")
    with pytest.raises(NotFound):
        platform.agents.route(tenant, "tax forms")


def test_an_interrupted_run_resumes_from_its_checkpoint(platform: Platform, tenant: str) -> None:
    service = platform.agents
    service.registry.create(
        tenant, {"name": "m", "memory": {"collection": "m"}, "backend": {"kind": "retrieval"}}
    )
    service.remember(tenant, "m", [{"text": "resume me", "source": "s"}])
    service.workflows.create(
        tenant,
        {
            "name": "two",
            "steps": [
                {"id": "a", "kind": "agent", "agent": "m", "query": "resume"},
                {"id": "b", "kind": "agent", "agent": "m", "query": "me"},
            ],
        },
    )
    run_id = service.create_run(tenant, "two", None, None)
    service.runs.update(
        tenant,
        run_id,
        status="running",
        checkpoint={
            "a": {"status": "completed", "output": {"answer": "from before"}, "text": "before"}
        },
    )
    service.resume_run(tenant, run_id)
    run = asyncio.run(service.wait_run(tenant, run_id))
    assert run["status"] == "completed"
    assert [s["step_id"] for s in run["steps"]] == ["b"]
    with pytest.raises(Conflict):
        service.resume_run(tenant, run_id)
