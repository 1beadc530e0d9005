import asyncio

from abi.events import LocalEventBus


async def test_subscriber_gets_only_its_tenant_and_topics() -> None:
    bus = LocalEventBus()
    sub = bus.subscribe("t1", ("agents.*",))
    bus.publish("t2", "agents.step", {"n": 1})
    bus.publish("t1", "plugins.out", {"n": 2})
    bus.publish("t1", "agents.step", {"n": 3})
    event = await asyncio.wait_for(sub.get(), 1)
    assert event is not None and event.data == {"n": 3}


async def test_slow_subscriber_is_closed_not_grown() -> None:
    bus = LocalEventBus()
    sub = bus.subscribe("t1", ("*",), limit=2)
    for n in range(5):
        bus.publish("t1", "x", {"n": n})
    await asyncio.sleep(0.01)
    assert sub.overflowed and sub.closed
    assert bus.subscribers == 0
    assert await sub.get() is None


async def test_publish_from_another_thread() -> None:
    bus = LocalEventBus()
    sub = bus.subscribe("t1", ("x",))
    await asyncio.to_thread(bus.publish, "t1", "x", {"ok": True})
    event = await asyncio.wait_for(sub.get(), 1)
    assert event is not None and event.data == {"ok": True}
    sub.close()
    assert [e async for e in sub] == []
