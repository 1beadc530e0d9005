"""The sandbox end to end with a real Wasmtime: calls, usage, capabilities, lifecycle, pooling,
threads and asyncio. The probe plugin (test_sandbox_probe.wat) has one entry point per host
capability."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
import wasmtime

from abi.config import PluginSettings
from abi.errors import InvalidInput
from abi.plugins.errors import PluginCallError
from abi.plugins.host.base import HostServices
from abi.plugins.kvstore import MemoryKeyValueStore
from abi.plugins.manifest import parse_manifest
from abi.plugins.sandbox import LoadedPlugin, Plugin, Sandbox

PROBE_WAT = Path(__file__).with_name("test_sandbox_probe.wat")
ENTRIES = [
    "echo", "init_config", "log", "config", "kv_put", "kv_fetch", "stream", "clock", "random",
    "http", "vsearch", "vget", "vupsert", "embed", "agent", "fail", "grow", "spin", "crash",
]  # fmt: skip


def probe_manifest(extra: str = "") -> str:
    return f"""
name = "probe"
version = "1.0.0"
entry_points = {json.dumps(ENTRIES)}
[capabilities]
log = {{}}
config = {{}}
kv = {{}}
stream = {{}}
clock = {{}}
random = {{}}
http = {{ allowed_hosts = ["127.0.0.1"], max_response_bytes = 1000 }}
"vectors.read" = {{ collections = ["docs", "notes"] }}
"vectors.write" = {{ collections = ["docs"] }}
embed = {{}}
"agents.call" = {{ agents = ["helper"] }}
[config_schema]
type = "object"
properties = {{ greeting = {{ type = "string" }} }}
{extra}
"""


@pytest.fixture(scope="module")
def wasm() -> bytes:
    return bytes(wasmtime.wat2wasm(PROBE_WAT.read_text(encoding="utf-8")))


@pytest.fixture(scope="module")
def sandbox(tmp_path_factory: pytest.TempPathFactory) -> Sandbox:
    return Sandbox(PluginSettings(), cache_dir=tmp_path_factory.mktemp("cache"))


@pytest.fixture(scope="module")
def loaded(sandbox: Sandbox, wasm: bytes) -> LoadedPlugin:
    return sandbox.load(parse_manifest(probe_manifest()), wasm)


@pytest.fixture
def bind(sandbox: Sandbox, loaded: LoadedPlugin) -> Iterator[Callable[..., Plugin]]:
    made: list[Plugin] = []

    def make(**kwargs: Any) -> Plugin:
        plugin = sandbox.bind(loaded, **kwargs)
        made.append(plugin)
        return plugin

    yield make
    for plugin in made:
        plugin.close()


def status(output: bytes) -> int:
    return int.from_bytes(output[:4], "little", signed=True)


def host_error_code(call: Callable[[], object]) -> str:
    """The code of the host error that ``call`` made the probe fail with (the probe passes the
    host's JSON error on as its own)."""
    with pytest.raises(PluginCallError) as info:
        call()
    return str(json.loads(info.value.message)["code"])


def run_threads(worker: Callable[[int], None], count: int) -> None:
    """Run ``worker(0..count-1)`` on that many threads and wait for all of them."""
    threads = [threading.Thread(target=worker, args=(n,)) for n in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()


def test_echo_returns_input_and_usage(bind: Callable[..., Plugin]) -> None:
    result = bind().call(b"hello sandbox", "echo")
    assert result.output == b"hello sandbox"
    usage = result.usage
    assert usage.fuel > 0
    assert (usage.bytes_in, usage.bytes_out) == (13, 13)
    assert usage.memory_bytes == 65536
    assert usage.host_calls == 0


def test_empty_input(bind: Callable[..., Plugin]) -> None:
    assert bind().call(b"", "echo").output == b""


def test_default_entry_is_the_first(bind: Callable[..., Plugin]) -> None:
    assert bind().call(b"abc").output == b"abc"


def test_unknown_entry_is_refused(bind: Callable[..., Plugin]) -> None:
    with pytest.raises(InvalidInput) as info:
        bind().call(b"", "nope")
    assert info.value.code == "plugin.entry_not_found"


def test_guest_error_carries_message_and_usage(bind: Callable[..., Plugin]) -> None:
    with pytest.raises(PluginCallError) as info:
        bind().call(b"bad things", "fail")
    assert info.value.code == "plugin.guest_error"
    assert info.value.message == "bad things"
    assert info.value.usage is not None and info.value.usage.bytes_in == 10


def test_guest_error_keeps_the_instance(bind: Callable[..., Plugin]) -> None:
    plugin = bind()
    for _ in range(3):
        with pytest.raises(PluginCallError):
            plugin.call(b"no", "fail")
    assert plugin.call(b"ok", "echo").output == b"ok"
    assert (plugin.pool.created, plugin.pool.retired) == (1, 0)


def test_trap_retires_the_instance_and_the_next_call_works(bind: Callable[..., Plugin]) -> None:
    plugin = bind()
    plugin.call(b"x", "echo")
    with pytest.raises(PluginCallError) as info:
        plugin.call(b"", "crash")
    assert info.value.code == "plugin.trap"
    assert plugin.pool.retired == 1
    assert plugin.call(b"again", "echo").output == b"again"
    assert plugin.pool.created == 2


def test_observer_sees_every_call(bind: Callable[..., Plugin]) -> None:
    seen: list[tuple[str, str, str | None]] = []
    plugin = bind(
        tenant_id="acme",
        observer=lambda ctx, usage, code: seen.append((ctx.tenant_id, ctx.plugin, code)),
    )
    plugin.call(b"x", "echo")
    with pytest.raises(PluginCallError):
        plugin.call(b"", "crash")
    assert seen == [("acme", "probe", None), ("acme", "probe", "plugin.trap")]


def test_instances_are_reused(bind: Callable[..., Plugin]) -> None:
    plugin = bind()
    for i in range(5):
        plugin.call(str(i).encode(), "echo")
    assert plugin.pool.created == 1


def test_fresh_mode_uses_a_new_instance_per_call(bind: Callable[..., Plugin]) -> None:
    plugin = bind(fresh=True)
    for _ in range(3):
        plugin.call(b"x", "echo")
    assert plugin.pool.created == 3
    assert plugin.pool.idle == 0


def test_log_reaches_the_sink(bind: Callable[..., Plugin]) -> None:
    lines: list[tuple[int, str]] = []
    result = bind(log_sink=lambda level, text: lines.append((level, text))).call(b"note", "log")
    assert lines == [(2, "note")]
    assert result.usage.host_calls == 1


def test_config_value_and_missing_key(bind: Callable[..., Plugin]) -> None:
    plugin = bind(config={"greeting": "hej"})
    assert json.loads(plugin.call(b"greeting", "config").output) == "hej"
    assert host_error_code(lambda: plugin.call(b"absent", "config")) == "not_found"


def test_config_is_checked_against_the_schema(bind: Callable[..., Plugin]) -> None:
    with pytest.raises(InvalidInput) as info:
        bind(config={"greeting": 5})
    assert info.value.code == "plugin.config_invalid"


def test_init_receives_the_tenant_config(bind: Callable[..., Plugin]) -> None:
    plugin = bind(config={"greeting": "hi"})
    assert json.loads(plugin.call(b"", "init_config").output) == {"greeting": "hi"}


def test_health_and_metrics(bind: Callable[..., Plugin]) -> None:
    plugin = bind()
    plugin.call(b"a", "echo")
    plugin.call(b"b", "echo")
    assert plugin.health() == {"ok": True}
    metrics = plugin.metrics()
    assert metrics["plugin"] == {"calls": 2}
    assert metrics["host"]["calls"] == 2


def test_kv_round_trip_is_per_tenant(bind: Callable[..., Plugin]) -> None:
    store = MemoryKeyValueStore()
    acme = bind(tenant_id="acme", services=HostServices(kv=store))
    other = bind(tenant_id="other", services=HostServices(kv=store))
    assert status(acme.call(b"color", "kv_put").output) == 0
    assert acme.call(b"color", "kv_fetch").output == b"color"
    assert host_error_code(lambda: other.call(b"color", "kv_fetch")) == "not_found"


def test_kv_limits(bind: Callable[..., Plugin]) -> None:
    store = MemoryKeyValueStore()
    plugin = bind(services=HostServices(kv=store))
    assert status(plugin.call(b"k" * 300, "kv_put").output) == -2  # key over 256 bytes
    statuses = [status(plugin.call(f"key-{i}".encode(), "kv_put").output) for i in range(1001)]
    assert statuses[:1000] == [0] * 1000
    assert statuses[1000] == -3  # over 1,000 keys
    assert store.stats("local", "probe")[0] == 1000


def test_ungranted_capability_is_a_denial_stub(bind: Callable[..., Plugin]) -> None:
    store = MemoryKeyValueStore()
    plugin = bind(grants=["log"], services=HostServices(kv=store))
    result = plugin.call(b"k", "kv_put")
    assert status(result.output) == -1
    assert result.usage.denied_calls == 1
    assert store.stats("local", "probe") == (0, 0)


def test_denied_error_result_surfaces_as_capability_denied(bind: Callable[..., Plugin]) -> None:
    with pytest.raises(PluginCallError) as info:
        bind(grants=[]).call(b"k", "kv_fetch")
    assert info.value.code == "plugin.capability_denied"


def test_kv_without_a_store_is_unavailable(bind: Callable[..., Plugin]) -> None:
    assert host_error_code(lambda: bind().call(b"k", "kv_fetch")) == "unavailable"


def test_stream_chunks_reach_the_sink(bind: Callable[..., Plugin]) -> None:
    chunks: list[bytes] = []
    result = bind().call(b"part", "stream", sink=chunks.append)
    assert chunks == [b"part", b"part"]
    assert result.output == b"part"
    assert result.usage.bytes_out == 12
    assert result.usage.streamed_chunks == 2


def test_a_failing_sink_cancels_the_call(bind: Callable[..., Plugin]) -> None:
    def closed(_chunk: bytes) -> None:
        raise ConnectionError("client went away")

    plugin = bind()
    with pytest.raises(PluginCallError) as info:
        plugin.call(b"x", "stream", sink=closed)
    assert info.value.code == "plugin.cancelled"
    assert plugin.call(b"ok", "echo").output == b"ok"


def test_stream_without_sink_collects_chunks(bind: Callable[..., Plugin]) -> None:
    assert bind().call(b"x", "stream").chunks == (b"x", b"x")


def test_clock_and_random(bind: Callable[..., Plugin]) -> None:
    plugin = bind()
    now = int.from_bytes(plugin.call(b"", "clock").output, "little")
    assert abs(now - time.time() * 1000) < 60_000
    first, second = plugin.call(b"", "random").output, plugin.call(b"", "random").output
    assert len(first) == 32 and first != second


def test_fuel_grows_with_work(bind: Callable[..., Plugin]) -> None:
    plugin = bind()
    small = plugin.call(b"x", "spin").usage.fuel
    large = plugin.call(b"x" * 10, "spin").usage.fuel
    assert large > 5 * small


def test_memory_usage_reports_growth(bind: Callable[..., Plugin]) -> None:
    assert bind().call(b"xxx", "grow").usage.memory_bytes == 4 * 65536


class _Handler(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        body = b"x" * 5000 if self.path == "/big" else b"pong"
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *_args: Any) -> None:
        pass


@pytest.fixture(scope="module")
def http_port() -> Iterator[int]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server.server_address[1]
    server.shutdown()


def _http(plugin: Plugin, url: str) -> Any:
    return json.loads(plugin.call(json.dumps({"url": url}).encode(), "http").output)


def test_http_to_an_allowed_host(bind: Callable[..., Plugin], http_port: int) -> None:
    response = _http(bind(), f"http://127.0.0.1:{http_port}/ping")
    assert response["status"] == 200 and response["body"] == "pong"


def test_http_to_another_host_is_denied(bind: Callable[..., Plugin], http_port: int) -> None:
    url = f"http://localhost:{http_port}/ping"
    assert host_error_code(lambda: _http(bind(), url)) == "capability_denied"


def test_http_response_cap(bind: Callable[..., Plugin], http_port: int) -> None:
    url = f"http://127.0.0.1:{http_port}/big"
    assert host_error_code(lambda: _http(bind(), url)) == "limit_reached"


class _Vectors:
    def __init__(self) -> None:
        self.calls: list[tuple[str, str]] = []

    def search(
        self, tenant_id: str, collection: str, vector: list[float], k: int, filter: Any
    ) -> list[dict[str, Any]]:
        self.calls.append((tenant_id, collection))
        return [{"id": "a", "score": 1.0, "payload": {"k": k}}]

    def get(self, tenant_id: str, collection: str, ids: list[Any]) -> list[dict[str, Any]]:
        self.calls.append((tenant_id, collection))
        return [{"id": i, "vector": [0.0], "payload": {}} for i in ids]

    def upsert(self, tenant_id: str, collection: str, items: list[Mapping[str, Any]]) -> int:
        self.calls.append((tenant_id, collection))
        return len(items)

    def delete(self, tenant_id: str, collection: str, ids: list[Any]) -> int:
        return 0


def _search(plugin: Plugin, collection: str) -> Any:
    body = json.dumps({"collection": collection, "vector": [1.0, 0.0], "k": 3}).encode()
    return json.loads(plugin.call(body, "vsearch").output)


def test_vectors_search_in_granted_collection(bind: Callable[..., Plugin]) -> None:
    vectors = _Vectors()
    plugin = bind(tenant_id="acme", services=HostServices(vectors=vectors))  # type: ignore[arg-type]
    assert _search(plugin, "docs")["hits"][0]["payload"] == {"k": 3}
    assert vectors.calls == [("acme", "docs")]


def test_vectors_grant_narrows_collections(bind: Callable[..., Plugin]) -> None:
    vectors = _Vectors()
    plugin = bind(
        grants={"vectors.read": {"collections": ["notes"]}},
        services=HostServices(vectors=vectors),  # type: ignore[arg-type]
    )
    assert host_error_code(lambda: _search(plugin, "docs")) == "capability_denied"
    assert vectors.calls == []


def test_vectors_get_and_upsert(bind: Callable[..., Plugin]) -> None:
    vectors = _Vectors()
    plugin = bind(tenant_id="acme", services=HostServices(vectors=vectors))  # type: ignore[arg-type]
    got = plugin.call(json.dumps({"collection": "notes", "ids": ["a", "b"]}).encode(), "vget")
    assert [item["id"] for item in json.loads(got.output)["items"]] == ["a", "b"]
    items = [{"id": "x", "vector": [1.0], "payload": {}}]
    body = json.dumps({"collection": "docs", "items": items}).encode()
    assert json.loads(plugin.call(body, "vupsert").output) == {"upserted": 1}
    assert vectors.calls == [("acme", "notes"), ("acme", "docs")]


def test_vectors_write_is_limited_to_its_own_grant(bind: Callable[..., Plugin]) -> None:
    vectors = _Vectors()
    plugin = bind(services=HostServices(vectors=vectors))  # type: ignore[arg-type]
    body = json.dumps({"collection": "notes", "items": []}).encode()
    assert host_error_code(lambda: plugin.call(body, "vupsert")) == "capability_denied"


class _Embedder:
    def embed(self, tenant_id: str, texts: list[str], model: str | None) -> list[list[float]]:
        return [[float(len(t)), 1.0] for t in texts]


class _Agents:
    def call(
        self, tenant_id: str, agent: str, query: str, conversation_id: str | None
    ) -> dict[str, Any]:
        return {"agent": agent, "answer": query.upper(), "tenant": tenant_id}


def test_embed_and_agents(bind: Callable[..., Plugin]) -> None:
    services = HostServices(embed=_Embedder(), agents=_Agents())
    plugin = bind(tenant_id="acme", services=services)
    embedded = json.loads(plugin.call(b'{"texts": ["abc", "de"]}', "embed").output)
    assert embedded == {"vectors": [[3.0, 1.0], [2.0, 1.0]], "dim": 2}
    answer = json.loads(plugin.call(b'{"agent": "helper", "query": "hi"}', "agent").output)
    assert answer == {"agent": "helper", "answer": "HI", "tenant": "acme"}
    stranger = b'{"agent": "stranger", "query": "hi"}'
    assert host_error_code(lambda: plugin.call(stranger, "agent")) == "capability_denied"


class _SlowAgents:
    """Answers only once released (or after 10 s)."""

    def __init__(self) -> None:
        self.release = threading.Event()
        self.answered = False

    def call(
        self, tenant_id: str, agent: str, query: str, conversation_id: str | None
    ) -> dict[str, Any]:
        self.release.wait(10)
        self.answered = True
        return {}


def test_a_slow_service_is_cut_at_the_call_deadline(sandbox: Sandbox, wasm: bytes) -> None:
    manifest = parse_manifest(probe_manifest("[limits]\nwall_ms = 100"))
    agents = _SlowAgents()
    services = HostServices(agents=agents)
    plugin = sandbox.bind(sandbox.load(manifest, wasm), services=services)
    with pytest.raises(PluginCallError) as info:
        plugin.call(b'{"agent": "helper", "query": "hi"}', "agent")
    answered_before_the_error = agents.answered
    agents.release.set()
    assert info.value.code == "plugin.timeout"
    assert answered_before_the_error is False
    assert plugin.call(b"alive", "echo").output == b"alive"


def test_bad_json_request_is_a_bad_argument(bind: Callable[..., Plugin]) -> None:
    assert host_error_code(lambda: bind().call(b"{not json", "embed")) == "bad_argument"


def test_vectors_without_a_service_are_unavailable(bind: Callable[..., Plugin]) -> None:
    assert host_error_code(lambda: _search(bind(), "docs")) == "unavailable"


def test_output_limit_counts_streamed_chunks(sandbox: Sandbox, wasm: bytes) -> None:
    manifest = parse_manifest(probe_manifest("[limits]\noutput_bytes = 10"))
    plugin = sandbox.bind(sandbox.load(manifest, wasm))
    assert plugin.call(b"abc", "stream").usage.bytes_out == 9
    with pytest.raises(PluginCallError) as info:
        plugin.call(b"abcd", "stream")
    assert info.value.code == "plugin.output_too_large"


def test_concurrent_calls_from_threads(bind: Callable[..., Plugin]) -> None:
    plugin = bind(pool_size=4)
    failures: list[str] = []

    def worker(n: int) -> None:
        for i in range(50):
            data = f"{n}-{i}".encode()
            if plugin.call(data, "echo").output != data:
                failures.append(data.decode())

    run_threads(worker, 4)
    assert failures == []
    assert plugin.stats.calls == 200
    assert plugin.pool.created <= 4


def test_concurrent_host_calls_from_threads(bind: Callable[..., Plugin]) -> None:
    store = MemoryKeyValueStore()
    plugin = bind(pool_size=4, services=HostServices(kv=store))
    statuses: list[int] = []

    def worker(n: int) -> None:
        for i in range(100):
            statuses.append(status(plugin.call(f"t{n}-{i}".encode(), "kv_put").output))

    run_threads(worker, 4)
    assert statuses == [0] * 400
    assert store.stats("local", "probe")[0] == 400
    assert plugin.call(b"t3-99", "kv_fetch").output == b"t3-99"


async def test_acall_does_not_block_the_event_loop(bind: Callable[..., Plugin]) -> None:
    plugin = bind()
    ticks = 0

    async def ticker() -> None:
        nonlocal ticks
        while True:
            await asyncio.sleep(0)
            ticks += 1

    task = asyncio.create_task(ticker())
    result = await plugin.acall(b"x" * 10_000, "spin")
    task.cancel()
    assert result.usage.fuel > 10_000_000
    assert ticks > 0


SLOTS_SCRIPT = """
import wasmtime
from abi.config import PluginSettings
from abi.plugins.errors import SandboxFull
from abi.plugins.instance import Instance
from abi.plugins.manifest import parse_manifest
from abi.plugins.sandbox import Sandbox

sandbox = Sandbox(PluginSettings(instance_slots=2))
loaded = sandbox.load(parse_manifest('name = "e"\\nversion = "1.0.0"\\n'), wasmtime.wat2wasm('''
(module (memory (export "memory") 1)
  (func (export "abi_version") (result i32) i32.const 1)
  (func (export "abi_alloc") (param i32) (result i32) i32.const 8)
  (func (export "handle") (param i32 i32) (result i64) i64.const 0))'''))
first, second = sandbox.bind(loaded), sandbox.bind(loaded)
first.call(b"x")                      # leaves one idle instance in first's pool
held = Instance(first.spec)           # and one in use: both slots taken
second.call(b"y")                     # evicts first's idle instance to get a slot
assert first.pool.idle == 0
try:
    Instance(first.spec)
except SandboxFull as exc:
    print(exc.code, exc.status)
"""


async def test_cancelling_acall_ends_the_wasm_call(sandbox: Sandbox, wasm: bytes) -> None:
    manifest = parse_manifest(probe_manifest("[limits]\nfuel = 2_000_000_000\nwall_ms = 30_000"))
    ended = threading.Event()
    codes: list[str | None] = []

    def observe(_ctx: Any, _usage: Any, code: str | None) -> None:
        codes.append(code)
        ended.set()

    plugin = sandbox.bind(sandbox.load(manifest, wasm), observer=observe)
    task = asyncio.create_task(plugin.acall(b"x" * 1_000_000, "spin"))
    await asyncio.sleep(0.05)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert await asyncio.to_thread(ended.wait, 30)
    assert codes == ["plugin.cancelled"]


def test_full_instance_slots_evict_idle_instances_then_refuse() -> None:
    done = subprocess.run(
        [sys.executable, "-c", SLOTS_SCRIPT], capture_output=True, timeout=120, check=False
    )
    assert done.returncode == 0, done.stderr.decode()
    assert done.stdout.decode().split() == ["plugin.busy", "503"]
