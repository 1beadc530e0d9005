"""The LLM backend against a real OpenAI-compatible server on loopback: JSON and streamed
(SSE) replies, tool calls executed as plugins, encrypted API keys, conversations, replicas
and circuit breaking."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from abi.agents.llm_client import ChatClient, LlmRejected
from abi.errors import AbiError, Unavailable
from abi.plugins.signing import generate_key, public_key_id
from abi.runtime import Platform
from helpers.openai_server import OpenAIServer
from helpers.plugin_bundles import make_bundle


@pytest.fixture
def llm() -> Iterator[OpenAIServer]:
    with OpenAIServer(api_key="sk-test-123") as server:
        yield server


def llm_agent(name: str, *urls: str, **backend: Any) -> dict[str, Any]:
    return {
        "name": name,
        "persona": {"description": "a helpful assistant", "instructions": "Be brief."},
        "capabilities": ["text_generation", "streaming"],
        "backend": {
            "kind": "llm",
            "base_urls": list(urls),
            "model": "echo-1",
            "api_key": "sk-test-123",
            **backend,
        },
    }


@pytest.fixture
def tenant(platform: Platform) -> str:
    return platform.tenants.create("llm-tenant").id


def test_query_gets_the_model_answer_and_token_usage(
    platform: Platform, tenant: str, llm: OpenAIServer
) -> None:
    platform.agents.registry.create(tenant, llm_agent("helper", llm.base_url))
    result = platform.agents.query(tenant, "helper", "hello there")
    assert result["answer"] == "Echo: hello there"
    assert result["usage"]["llm_calls"] == 1
    assert result["usage"]["completion_tokens"] == 3
    assert result["usage"]["prompt_tokens"] == 4  # "Be brief." + "hello there"
    sent = llm.requests[-1]
    assert sent.headers["Authorization"] == "Bearer sk-test-123"
    assert sent.body["messages"][0] == {"role": "system", "content": "Be brief."}
    assert sent.headers["traceparent"].split("-")[1] == result["trace_id"]


def test_api_key_is_stored_encrypted_and_never_returned(
    platform: Platform, tenant: str, llm: OpenAIServer
) -> None:
    agent = platform.agents.registry.create(tenant, llm_agent("helper", llm.base_url))
    assert agent.has_api_key
    assert "sk-test-123" not in str(agent.to_dict())
    with platform.db.begin() as conn:
        raw = conn.exec_driver_sql("SELECT spec, secret FROM agents").one()
    assert b"sk-test-123" not in raw.secret
    assert "sk-test-123" not in str(raw.spec)


def test_update_without_key_keeps_it_and_empty_key_removes_it(
    platform: Platform, tenant: str, llm: OpenAIServer
) -> None:
    registry = platform.agents.registry
    registry.create(tenant, llm_agent("helper", llm.base_url))
    definition = llm_agent("helper", llm.base_url)
    del definition["backend"]["api_key"]
    assert registry.update(tenant, "helper", definition).has_api_key
    assert platform.agents.query(tenant, "helper", "still works")["answer"] == "Echo: still works"
    definition["backend"]["api_key"] = ""
    assert not registry.update(tenant, "helper", definition).has_api_key
    with pytest.raises(Exception) as caught:
        platform.agents.query(tenant, "helper", "now refused")
    assert getattr(caught.value, "code", "") == "agents.llm_rejected"


def test_streamed_tokens_are_published_in_order(
    platform: Platform, tenant: str, llm: OpenAIServer
) -> None:
    platform.agents.registry.create(tenant, llm_agent("helper", llm.base_url))

    async def scenario() -> tuple[dict[str, Any], list[dict[str, Any]]]:
        sub = platform.events.subscribe(tenant, ("agents.*.queries.q1",))
        result = await platform.agents.aquery(
            tenant, "helper", "one two three four", stream=True, query_id="q1"
        )
        events = []
        async with asyncio.timeout(5):
            async for event in sub:
                events.append(event.data)
                if event.data["type"] == "done":
                    break
        sub.close()
        return result, events

    result, events = asyncio.run(scenario())
    tokens = [e["text"] for e in events if e["type"] == "token"]
    assert "".join(tokens) == "Echo: one two three four"
    assert len(tokens) == 5
    assert events[0]["type"] == "start" and events[-1]["answer"] == result["answer"]
    assert llm.requests[-1].body["stream"] is True
    assert result["usage"]["completion_tokens"] == 5


def test_conversation_history_is_fed_back(
    platform: Platform, tenant: str, llm: OpenAIServer
) -> None:
    platform.agents.registry.create(tenant, llm_agent("helper", llm.base_url))
    platform.agents.query(tenant, "helper", "my name is Ada", conversation_id="c-1")
    platform.agents.query(tenant, "helper", "what is my name", conversation_id="c-1")
    messages = llm.requests[-1].body["messages"]
    assert [m["role"] for m in messages] == ["system", "user", "assistant", "user"]
    assert messages[1]["content"] == "my name is Ada"
    assert messages[2]["content"] == "Echo: my name is Ada"
    other = platform.tenants.create("other").id
    platform.agents.registry.create(other, llm_agent("helper", llm.base_url))
    platform.agents.query(other, "helper", "who am I", conversation_id="c-1")
    assert [m["role"] for m in llm.requests[-1].body["messages"]] == ["system", "user"]


def test_failed_replica_is_avoided_after_its_circuit_opens(
    platform: Platform, tenant: str, llm: OpenAIServer
) -> None:
    with OpenAIServer(api_key="sk-test-123") as broken:
        broken.fail_next(1000)
        platform.agents.registry.create(tenant, llm_agent("duo", broken.base_url, llm.base_url))
        outcomes = []
        for i in range(12):
            try:
                outcomes.append(platform.agents.query(tenant, "duo", f"q{i}")["replica"])
            except Unavailable:
                outcomes.append("error")
        agent = platform.agents.registry.get(tenant, "duo")
        state = {r["target"]: r for r in platform.agents.replicas.snapshot(tenant, agent.id)}
    assert state[broken.base_url]["circuit"] == "open"
    assert state[broken.base_url]["failures"] == 5
    assert outcomes[-5:] == [llm.base_url] * 5


async def test_client_reads_tool_calls_from_json_and_stream(llm: OpenAIServer) -> None:
    tools = [{"type": "function", "function": {"name": "lookup", "parameters": {}}}]
    messages = [{"role": "user", "content": "please lookup the weather"}]
    async with httpx.AsyncClient() as http:
        client = ChatClient(http, llm.base_url, "echo-1", "sk-test-123")
        plain = await client.complete(messages, tools)
        tokens: list[str] = []

        async def sink(token: str) -> None:
            tokens.append(token)

        streamed = await client.complete(messages, tools, on_token=sink)
    for reply in (plain, streamed):
        assert reply.finish_reason == "tool_calls"
        assert [c.name for c in reply.tool_calls] == ["lookup"]
        assert reply.tool_calls[0].arguments == '{"text": "please lookup the weather"}'
    assert tokens == []


async def test_client_maps_http_errors(llm: OpenAIServer) -> None:
    async with httpx.AsyncClient() as http:
        with pytest.raises(LlmRejected):
            await ChatClient(http, llm.base_url, "echo-1", "wrong").complete([])
        llm.fail_next(1)
        with pytest.raises(Unavailable):
            await ChatClient(http, llm.base_url, "echo-1", "sk-test-123").complete([])
        with pytest.raises(Unavailable):
            await ChatClient(http, "http://127.0.0.1:9", "m").complete([])


def test_tool_calls_run_the_plugin_in_the_sandbox(
    platform: Platform, tenant: str, llm: OpenAIServer
) -> None:
    signing = generate_key()
    platform.plugins.registry.add_publisher(public_key_id(signing), "tests", tenant_id=None)
    platform.plugins.publish(make_bundle("echo", "1.0.0", signing), uploader=None)
    platform.plugins.install(tenant, "echo")
    definition = llm_agent("tooler", llm.base_url)
    definition["capabilities"].append("function_calling")
    definition["tools"] = [
        {
            "plugin": "echo",
            "entry": "handle",
            "name": "echo_tool",
            "description": "Echoes its arguments",
            "parameters": {"type": "object", "properties": {"text": {"type": "string"}}},
        }
    ]
    platform.agents.registry.create(tenant, definition)
    result = platform.agents.query(tenant, "tooler", "call echo_tool now")
    assert result["answer"] == 'Tool result: 1.0.0:{"text": "call echo_tool now"}'
    assert result["tool_calls"][0]["name"] == "echo_tool"
    assert result["usage"]["plugin_calls"] == 1 and result["usage"]["plugin_fuel"] > 0
    assert result["usage"]["llm_calls"] == 2
    offered = llm.requests[0].body["tools"][0]["function"]
    assert offered["name"] == "echo_tool" and offered["parameters"]["properties"]["text"]
    followup = llm.requests[1].body["messages"]
    assert followup[-2]["tool_calls"][0]["function"]["name"] == "echo_tool"
    assert followup[-1]["role"] == "tool" and followup[-1]["tool_call_id"]


def test_tool_rounds_are_bounded(platform: Platform, tenant: str, llm: OpenAIServer) -> None:
    definition = llm_agent("looper", llm.base_url, max_tool_rounds=0)
    definition["tools"] = [{"plugin": "echo", "name": "echo_tool"}]
    platform.agents.registry.create(tenant, definition)
    with pytest.raises(AbiError) as caught:
        platform.agents.query(tenant, "looper", "call echo_tool forever")
    assert caught.value.code == "agents.tool_rounds_exceeded"
    agent = platform.agents.registry.get(tenant, "looper")
    assert platform.agents.replicas.snapshot(tenant, agent.id)[0]["failures"] == 0


def test_health_checks_take_a_dead_replica_out(
    platform: Platform, tenant: str, llm: OpenAIServer
) -> None:
    dead = "http://127.0.0.1:9/v1"
    platform.agents.registry.create(tenant, llm_agent("pair", dead, llm.base_url))
    service = platform.agents
    agent = service.registry.get(tenant, "pair")
    service.replicas.for_agent(agent)
    assert service.http is not None
    probed = service.loop.run(service.replicas.check_health(service.http))
    assert probed == 2
    state = {r["target"]: r for r in service.replicas.snapshot(tenant, agent.id)}
    assert state[dead]["healthy"] is False and state[llm.base_url]["healthy"] is True
    served = {service.query(tenant, "pair", f"q{i}")["replica"] for i in range(4)}
    assert served == {llm.base_url}
