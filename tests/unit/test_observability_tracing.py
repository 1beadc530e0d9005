"""Tracing: spans nest, land in their tenant's ring buffer only, and export over OTLP only
when an endpoint is configured."""

from __future__ import annotations

import asyncio
import logging
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path
from typing import Any

import pytest

from abi.config import load_settings
from abi.errors import NotFound
from abi.observability import annotate, current_trace_id, span
from abi.observability.buffer import TenantTraceBuffer
from abi.observability.tracing import Tracing
from abi.runtime import Platform


def _buffer(platform: Platform) -> TenantTraceBuffer:
    return platform.observability.tracing.buffer


def _trace(platform: Platform, tenant_id: str, trace_id: str | None) -> dict[str, Any]:
    """The tenant's buffered trace ``trace_id``; fails the test when there is none."""
    assert trace_id is not None
    found = _buffer(platform).trace(tenant_id, trace_id)
    assert found is not None
    return found


def test_span_without_a_started_platform_records_nothing() -> None:
    with span("plugin.call", tenant_id="t1") as current:
        assert not current.is_recording()
        assert current_trace_id() is None


def test_nested_spans_share_a_trace_filed_under_the_tenant(platform: Platform) -> None:
    with span("invoke_agent", tenant_id="t_a", agent_id="helper"):
        trace_id = current_trace_id()
        with span("execute_tool", tool="search"):
            assert current_trace_id() == trace_id
    found = _trace(platform, "t_a", trace_id)
    names = [s["name"] for s in found["spans"]]
    assert names == ["invoke_agent", "execute_tool"]
    assert found["spans"][1]["parent_span_id"] == found["spans"][0]["span_id"]


def test_another_tenant_never_sees_the_trace(platform: Platform) -> None:
    with span("vectors.search", tenant_id="t_a"):
        trace_id = current_trace_id()
    assert trace_id is not None
    assert _buffer(platform).trace("t_b", trace_id) is None
    assert _buffer(platform).traces("t_b") == []


def test_genai_operations_and_keyword_attributes(platform: Platform) -> None:
    with span("invoke_agent", tenant_id="t_a", agent_id="a1", skipped=None):
        trace_id = current_trace_id()
    found = _trace(platform, "t_a", trace_id)
    attrs = found["spans"][0]["attributes"]
    assert attrs["gen_ai.operation.name"] == "invoke_agent"
    assert attrs["abi.agent_id"] == "a1"
    assert "abi.skipped" not in attrs


def test_annotate_adds_usage_to_the_current_span(platform: Platform) -> None:
    with span("plugin.call", tenant_id="t_a"):
        annotate(fuel=1234, attributes_ok=True)
        trace_id = current_trace_id()
    found = _trace(platform, "t_a", trace_id)
    assert found["spans"][0]["attributes"]["abi.fuel"] == 1234


def test_a_root_without_tenant_adopts_its_childrens_tenant(platform: Platform) -> None:
    with span("invoke_workflow"):
        trace_id = current_trace_id()
        with span("plugin.call", tenant_id="t_a"):
            pass
    assert trace_id is not None
    assert _buffer(platform).trace("t_a", trace_id) is not None


def test_a_trace_naming_no_tenant_is_not_kept(platform: Platform) -> None:
    before = _buffer(platform).stats()["dropped_untenanted"]
    with span("plugin.call"):
        pass
    assert _buffer(platform).stats()["dropped_untenanted"] == before + 1
    assert _buffer(platform).stats()["traces"] == 0


def test_an_exception_marks_the_span_and_propagates(platform: Platform) -> None:
    with pytest.raises(NotFound), span("plugin.call", tenant_id="t_a"):
        trace_id = current_trace_id()
        raise NotFound("no such plugin", code="plugin.not_found")
    found = _trace(platform, "t_a", trace_id)
    assert found["error"] is True
    only = found["spans"][0]
    assert only["status"] == "error"
    assert only["attributes"]["abi.error.code"] == "plugin.not_found"
    assert only["events"][0]["name"] == "exception"


def test_spans_in_worker_threads_nest_under_the_caller(platform: Platform) -> None:
    def work() -> str | None:
        with span("vectors.search", tenant_id="t_a"):
            return current_trace_id()

    async def main() -> tuple[str | None, str | None]:
        with span("invoke_agent", tenant_id="t_a"):
            return current_trace_id(), await asyncio.to_thread(work)

    outer, inner = asyncio.run(main())
    assert outer == inner
    assert _trace(platform, "t_a", outer)["span_count"] == 2


def test_the_ring_evicts_the_oldest_traces_past_its_capacity(tmp_path: Path) -> None:
    settings = load_settings(
        environ={}, overrides={"data_dir": tmp_path, "observability": {"trace_buffer": 3}}
    )
    tracing = Tracing(settings.observability)
    tracing.activate()
    try:
        ids = []
        for _ in range(5):
            with span("plugin.call", tenant_id="t_a"):
                ids.append(current_trace_id())
        kept = [t["trace_id"] for t in tracing.buffer.traces("t_a")]
        assert kept == list(reversed(ids[-3:]))
    finally:
        tracing.shutdown()


def test_log_records_carry_the_trace_id(
    platform: Platform, caplog: pytest.LogCaptureFixture
) -> None:
    logger = logging.getLogger("abi.test")
    with caplog.at_level(logging.INFO, "abi.test"), span("plugin.call", tenant_id="t_a"):
        logger.info("inside")
        trace_id = current_trace_id()
    assert [getattr(r, "trace_id", None) for r in caplog.records] == [trace_id]


class _Collector(BaseHTTPRequestHandler):
    received: list[tuple[str, str, bytes]] = []

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers["Content-Length"]))
        self.received.append((self.path, self.headers["Content-Type"], body))
        self.send_response(200)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *args: Any) -> None:
        return


@pytest.fixture
def collector() -> Iterator[tuple[str, list[tuple[str, str, bytes]]]]:
    server = HTTPServer(("127.0.0.1", 0), _Collector)
    received: list[tuple[str, str, bytes]] = []
    _Collector.received = received
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}", received
    finally:
        server.shutdown()
        server.server_close()


def test_spans_are_exported_over_otlp_when_an_endpoint_is_set(
    tmp_path: Path, collector: tuple[str, list[tuple[str, str, bytes]]]
) -> None:
    from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
        ExportTraceServiceRequest,
    )

    endpoint, received = collector
    settings = load_settings(
        environ={},
        overrides={"data_dir": tmp_path, "observability": {"otlp_endpoint": endpoint}},
    )
    with Platform(settings) as platform:
        assert platform.observability.health()["otlp_export"] is True
        with span("vectors.search", tenant_id="t_a", collection="docs"):
            pass
    assert [(path, kind) for path, kind, _ in received] == [
        ("/v1/traces", "application/x-protobuf")
    ]
    request = ExportTraceServiceRequest.FromString(received[0][2])
    exported = request.resource_spans[0].scope_spans[0].spans
    assert [s.name for s in exported] == ["vectors.search"]


def test_nothing_is_exported_by_default(platform: Platform) -> None:
    assert platform.observability.tracing.exporting is False
    assert platform.observability.health() == {"ok": True, "otlp_export": False}


def test_a_child_ending_after_its_root_joins_the_filed_trace(platform: Platform) -> None:
    tracer = platform.observability.tracing.tracer
    from opentelemetry import trace

    root = tracer.start_span("http.request", attributes={"abi.tenant_id": "t_a"})
    child = tracer.start_span("invoke_workflow", context=trace.set_span_in_context(root))
    root.end()  # the response went out; the background work goes on
    child.end()
    trace_id = format(root.get_span_context().trace_id, "032x")
    found = _buffer(platform).trace("t_a", trace_id)
    assert found is not None
    assert [s["name"] for s in found["spans"]] == ["http.request", "invoke_workflow"]
