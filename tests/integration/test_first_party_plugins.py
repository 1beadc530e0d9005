"""The first-party plugins in wasm-plugins/: their examples through the real sandbox, their
behaviour beyond the examples, and rebuilding each from source with its toolchain."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from click.testing import CliRunner

from abi.cli.main import cli
from abi.cli.plugin_author import ExampleResult, example_entry, load_project, run_examples
from abi.config import load_settings
from abi.plugins.bundle import Bundle
from abi.plugins.errors import PluginCallError
from abi.plugins.host.base import HostServices
from abi.plugins.kvstore import MemoryKeyValueStore
from abi.plugins.sandbox import Plugin, Sandbox
from helpers.toolchains import build_or_skip

PLUGINS = Path(__file__).resolve().parents[2] / "wasm-plugins"
FIRST_PARTY = sorted(p.parent for p in PLUGINS.glob("*/plugin.toml") if p.parent.name != "hostile")
EXAMPLES = [(folder, ex) for folder in FIRST_PARTY for ex in sorted(folder.glob("examples/*.in"))]


CLI_EXAMPLES = [
    (f, e) for f, e in EXAMPLES if "stream" not in Bundle.from_folder(f).manifest.capabilities
]


@pytest.fixture(scope="module")
def sandbox() -> Sandbox:
    return Sandbox(load_settings(environ={}).plugins)


@contextmanager
def bound(sandbox: Sandbox, name: str, **kwargs: object) -> Iterator[Plugin]:
    """The first-party plugin ``name`` bound with in-memory kv, closed on exit."""
    bundle = Bundle.from_folder(PLUGINS / name)
    kwargs.setdefault("services", HostServices(kv=MemoryKeyValueStore()))
    plugin = sandbox.bind(sandbox.load_bundle(bundle), pool_size=1, **kwargs)  # type: ignore[arg-type]
    try:
        yield plugin
    finally:
        plugin.close()


def call_error(
    sandbox: Sandbox, name: str, data: bytes, entry: str | None = None, **kwargs: object
) -> PluginCallError:
    """The error of a call to plugin ``name`` that must fail."""
    with bound(sandbox, name, **kwargs) as plugin, pytest.raises(PluginCallError) as caught:
        plugin.call(data, entry)
    return caught.value


@pytest.fixture
def notes(sandbox: Sandbox) -> Iterator[Plugin]:
    with bound(sandbox, "notes") as plugin:
        yield plugin


def test_there_are_five_plugins_in_four_languages() -> None:
    langs = {load_project(folder).lang for folder in FIRST_PARTY}
    assert len(FIRST_PARTY) >= 5
    assert langs == {"c", "zig", "rust", "assemblyscript"}


@pytest.mark.parametrize("folder", FIRST_PARTY, ids=lambda f: f.name)
def test_every_plugin_has_examples_and_a_built_module(folder: Path) -> None:
    bundle = Bundle.from_folder(folder)
    names = {p.name[: -len(".in")] for p in folder.glob("examples/*.in")}
    assert names
    assert {p.name[: -len(".out")] for p in folder.glob("examples/*.out")} == names
    assert bundle.module.startswith(b"\0asm")


@pytest.mark.parametrize(
    ("folder", "example"), EXAMPLES, ids=[f"{f.name}/{e.stem}" for f, e in EXAMPLES]
)
def test_example_is_reproduced_exactly(sandbox: Sandbox, folder: Path, example: Path) -> None:
    bundle = Bundle.from_folder(folder)
    name = example.name[: -len(".in")]
    with bound(sandbox, folder.name, fresh=True) as plugin:
        output = plugin.call(example.read_bytes(), example_entry(bundle.manifest, name)).output
    assert output == example.with_suffix(".out").read_bytes()


@pytest.mark.parametrize(
    ("folder", "example"), CLI_EXAMPLES, ids=[f"{f.name}/{e.stem}" for f, e in CLI_EXAMPLES]
)
def test_abi_plugin_run_prints_the_example_output(
    folder: Path, example: Path, tmp_path: Path
) -> None:
    entry = example_entry(Bundle.from_folder(folder).manifest, example.name[: -len(".in")])
    args = ["plugin", "run", str(folder), "--input", str(example), "--entry", entry]
    result = CliRunner().invoke(cli, [*args, "--data-dir", str(tmp_path)])
    assert result.exit_code == 0, result.stderr
    assert result.stdout_bytes == example.with_suffix(".out").read_bytes()
    assert result.stderr.startswith("usage: ")


def test_notes_keeps_state_in_kv_between_calls(notes: Plugin) -> None:
    notes.call(b"clear\nadd water the plants #home\nadd renew passport")
    assert notes.call(b"list #home").output == b"#1 water the plants #home\n"
    assert notes.call(b"count").output == b"2 notes\n"


def test_notes_streams_each_answer_as_it_is_ready(notes: Plugin) -> None:
    chunks: list[bytes] = []
    result = notes.call(b"clear\nadd a\nadd b\ncount", sink=chunks.append)
    assert chunks == [b"notebook cleared\n", b"added #1 a\n", b"added #2 b\n", b"2 notes\n"]
    assert result.output == b"".join(chunks)


def test_notes_logs_each_change(sandbox: Sandbox) -> None:
    lines: list[tuple[int, str]] = []
    with bound(sandbox, "notes", log_sink=lambda level, line: lines.append((level, line))) as p:
        p.call(b"clear\nadd x\ndelete 1\nlist")
    assert [line for _, line in lines] == ["notes: cleared", "notes: added #1", "notes: deleted #1"]
    assert {level for level, _ in lines} == {1}


def test_notes_without_kv_fails_with_a_clear_message(sandbox: Sandbox) -> None:
    error = call_error(sandbox, "notes", b"add x", grants=["log", "stream"])
    assert error.code == "plugin.capability_denied"
    assert "kv capability" in error.message


def test_pii_redact_leaves_text_without_personal_data_unchanged(sandbox: Sandbox) -> None:
    text = "Meet at 10:30 on 2026-03-04, room 4.12; version 2.0.1 costs 1,299.00 € (ref 12345)."
    with bound(sandbox, "pii-redact") as plugin:
        assert plugin.call(text.encode(), "redact").output == text.encode()
        assert json.loads(plugin.call(text.encode(), "scan").output) == {
            "counts": {},
            "findings": [],
        }


def test_text_stats_refuses_invalid_utf8_with_the_offset(sandbox: Sandbox) -> None:
    error = call_error(sandbox, "text-stats", b"caf\xc3 ok", "stats")
    assert error.code == "plugin.guest_error"
    assert "byte offset 3" in error.message


def test_json_transform_reports_where_the_json_breaks(sandbox: Sandbox) -> None:
    error = call_error(sandbox, "json-transform", b'{"data": [1, }')
    assert "not valid JSON (byte offset 13)" in error.message


def test_sentiment_memory_is_reused_across_calls(sandbox: Sandbox) -> None:
    text = b"What a wonderful, truly excellent day! " * 200
    with bound(sandbox, "sentiment") as plugin:
        first = plugin.call(text, "score")
        for _ in range(30):
            last = plugin.call(text, "score")
    assert last.output == first.output
    assert last.usage.memory_bytes == first.usage.memory_bytes


@pytest.mark.slow
@pytest.mark.parametrize("folder", FIRST_PARTY, ids=lambda f: f.name)
def test_rebuilt_module_passes_the_examples(sandbox: Sandbox, folder: Path, tmp_path: Path) -> None:
    """Byte-identical with the committed module where the toolchain is the same version;
    with any version, the rebuilt module must reproduce every example."""
    rebuilt = build_or_skip(folder, tmp_path / "plugin.wasm").read_bytes()
    results: list[ExampleResult] = run_examples(sandbox, folder, rebuilt)
    assert results
    assert [r.name for r in results if not r.passed] == []
