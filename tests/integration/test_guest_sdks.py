"""Every guest SDK's host-function wrappers and lifecycle exports, through the real sandbox:
a probe plugin per language (plugin-sdk/probes/<lang>) calls kv, config, clock, random, stream
and log and reports what each returned; it also exports abi_init, abi_health and abi_metrics."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from abi.cli.plugin_author import LANGUAGES, load_project
from abi.config import load_settings
from abi.plugins.host.base import HostServices
from abi.plugins.kvstore import MemoryKeyValueStore
from abi.plugins.manifest import Manifest
from abi.plugins.sandbox import Plugin, Sandbox
from helpers.toolchains import build_or_skip

PROBES = Path(__file__).resolve().parents[2] / "plugin-sdk" / "probes"
EXPECTED = (
    b"kv:probe missing:not_found delete:ok again:not_found config:not_found clock:ok "
    b"monotonic:ok random:ok stream:ok init:2"
)
Probe = tuple[Manifest, bytes]
Outcome = tuple[bytes, list[bytes], list[tuple[int, str]]]


@pytest.fixture(scope="module")
def sandbox() -> Sandbox:
    return Sandbox(load_settings(environ={}).plugins)


@pytest.fixture(scope="module", params=LANGUAGES)
def probe(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Probe:
    """The probe plugin of one language, built from source: its manifest and module."""
    folder = PROBES / str(request.param)
    out = tmp_path_factory.mktemp(f"probe-{request.param}") / "plugin.wasm"
    return load_project(folder).manifest, build_or_skip(folder, out).read_bytes()


def bind(sandbox: Sandbox, probe: Probe, config: dict[str, str], logs: list[Any]) -> Plugin:
    return sandbox.bind(
        sandbox.load(*probe),
        config=config,
        services=HostServices(kv=MemoryKeyValueStore()),
        log_sink=lambda level, line: logs.append((level, line)),
        pool_size=1,
    )


def call_probe(sandbox: Sandbox, probe: Probe, config: dict[str, str]) -> Outcome:
    chunks: list[bytes] = []
    logs: list[tuple[int, str]] = []
    plugin = bind(sandbox, probe, config, logs)
    try:
        output = plugin.call(b"probe", sink=chunks.append).output
    finally:
        plugin.close()
    return output, chunks, logs


def test_host_functions_answer_as_the_abi_says(sandbox: Sandbox, probe: Probe) -> None:
    output, chunks, logs = call_probe(sandbox, probe, {})
    assert output == EXPECTED
    assert chunks == [b"chunk"]
    assert logs == [(0, "probe done")]


def test_config_reaches_config_get_and_abi_init(sandbox: Sandbox, probe: Probe) -> None:
    config = {"greeting": "hi"}
    output, _, _ = call_probe(sandbox, probe, config)
    assert b" config:ok " in output
    sizes = {len(json.dumps(config)), len(json.dumps(config, separators=(",", ":")))}
    assert int(output.rsplit(b" init:", 1)[1]) in sizes  # abi_init got the config JSON


def test_health_and_metrics_come_from_the_guest(sandbox: Sandbox, probe: Probe) -> None:
    plugin = bind(sandbox, probe, {}, [])
    try:
        plugin.call(b"one")
        plugin.call(b"two")
        health = plugin.health()
        metrics = plugin.metrics()
    finally:
        plugin.close()
    assert health == {"ok": True, "sdk": probe[0].name.removeprefix("sdk-probe-")}
    assert metrics["plugin"] == {"handled": 2}
