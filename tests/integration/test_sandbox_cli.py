"""`abi plugin run | keygen | sign | pack | verify | inspect` against a real plugin folder."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import wasmtime
from click.testing import CliRunner, Result

from abi.cli.main import cli

WAT = Path(__file__).with_name("test_sandbox_probe.wat")
MANIFEST = """
name = "probe"
version = "1.0.0"
entry_points = ["echo", "kv_put", "kv_fetch", "stream", "config", "fail", "init_config", "log",
                "clock", "random", "http", "vsearch", "grow", "spin", "crash"]
[capabilities]
log = {}
config = {}
kv = {}
stream = {}
clock = {}
random = {}
http = { allowed_hosts = ["127.0.0.1"] }
"vectors.read" = { collections = ["docs"] }
"vectors.write" = { collections = ["docs"] }
embed = {}
"agents.call" = {}
"""


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    plugin = tmp_path / "probe"
    plugin.mkdir()
    (plugin / "plugin.toml").write_text(MANIFEST)
    (plugin / "plugin.wasm").write_bytes(bytes(wasmtime.wat2wasm(WAT.read_text())))
    (tmp_path / "in.txt").write_bytes(b"payload")
    return plugin


def plugin(*args: str) -> Result:
    """``abi plugin ARGS``."""
    return CliRunner().invoke(cli, ["plugin", *args])


def run(tmp_path: Path, *args: str) -> Result:
    """``abi plugin ARGS`` with the test's data dir."""
    return plugin(*args, "--data-dir", str(tmp_path / "data"))


def run_on_input(tmp_path: Path, target: Path, *args: str) -> Result:
    """``abi plugin run TARGET`` on the fixture's input file."""
    return run(tmp_path, "run", str(target), "--input", str(tmp_path / "in.txt"), *args)


def test_run_writes_output_bytes_and_usage(tmp_path: Path, folder: Path) -> None:
    result = run_on_input(tmp_path, folder)
    assert result.exit_code == 0, result.stderr
    assert result.stdout_bytes == b"payload"
    usage = json.loads(result.stderr.split("usage: ", 1)[1])
    assert usage["bytes_in"] == 7 and usage["fuel"] > 0


def test_run_json(tmp_path: Path, folder: Path) -> None:
    body = json.loads(run_on_input(tmp_path, folder, "--entry", "stream", "--json").stdout)
    assert body["output"] == "payload"
    assert body["chunks"] == ["payload", "payload"]
    assert body["usage"]["streamed_chunks"] == 2


def test_run_streams_chunks_to_stderr(tmp_path: Path, folder: Path) -> None:
    result = run_on_input(tmp_path, folder, "--entry", "stream")
    assert result.stdout_bytes == b"payload"
    assert result.stderr.startswith("payloadpayload")


def test_run_guest_error_exits_1_with_code(tmp_path: Path, folder: Path) -> None:
    result = run_on_input(tmp_path, folder, "--entry", "fail")
    assert result.exit_code == 1
    assert "error[plugin.guest_error]: payload" in result.stderr
    assert result.stdout_bytes == b""


def test_run_with_denied_capability(tmp_path: Path, folder: Path) -> None:
    granted = run_on_input(tmp_path, folder, "--entry", "kv_put")
    denied = run_on_input(tmp_path, folder, "--entry", "kv_put", "--deny", "kv")
    assert int.from_bytes(granted.stdout_bytes, "little", signed=True) == 0
    assert int.from_bytes(denied.stdout_bytes, "little", signed=True) == -1


def test_kv_dir_keeps_state_between_runs(tmp_path: Path, folder: Path) -> None:
    kv_dir = ("--kv-dir", str(tmp_path / "kv"))
    assert run_on_input(tmp_path, folder, *kv_dir, "--entry", "kv_put").exit_code == 0
    assert run_on_input(tmp_path, folder, *kv_dir, "--entry", "kv_fetch").stdout_bytes == b"payload"


def test_plugin_config_file(tmp_path: Path, folder: Path) -> None:
    (tmp_path / "cfg.json").write_text('{"payload": [1, 2]}')
    config = ("--plugin-config", str(tmp_path / "cfg.json"))
    result = run_on_input(tmp_path, folder, "--entry", "config", *config)
    assert json.loads(result.stdout_bytes) == [1, 2]


def test_keygen_pack_verify_inspect(tmp_path: Path, folder: Path) -> None:
    key = tmp_path / "publisher.key"
    keygen = plugin("keygen", str(key))
    public = keygen.stdout.strip()
    assert (tmp_path / "publisher.key.pub").read_text().strip() == public
    bundle = tmp_path / "probe.abi"
    pack = plugin("pack", str(folder), "--key", str(key), "--out", str(bundle))
    assert pack.exit_code == 0, pack.stderr
    verified = run(tmp_path, "verify", str(bundle), "--trusted-key", public)
    assert json.loads(verified.stdout)["publisher"] == public
    stranger = plugin("keygen", str(tmp_path / "other.key")).stdout
    refused = run(tmp_path, "verify", str(bundle), "--trusted-key", stranger.strip())
    assert refused.exit_code == 1 and "plugin.unknown_publisher" in refused.stderr
    inspected = json.loads(plugin("inspect", str(bundle)).stdout)
    assert inspected["publisher"] == public and inspected["name"] == "probe"
    ran = run_on_input(tmp_path, bundle)
    assert ran.stdout_bytes == b"payload"


def test_sign_a_folder_then_run_requires_it_to_match(tmp_path: Path, folder: Path) -> None:
    key = tmp_path / "k"
    plugin("keygen", str(key))
    assert plugin("sign", str(folder), "--key", str(key)).exit_code == 0
    assert (folder / "signature.json").is_file()
    (folder / "plugin.wasm").write_bytes((folder / "plugin.wasm").read_bytes() + b"\x00")
    result = run_on_input(tmp_path, folder)
    assert result.exit_code == 1 and "plugin.signature_invalid" in result.stderr


def test_keygen_refuses_to_overwrite(tmp_path: Path) -> None:
    key = tmp_path / "k"
    key.write_text("precious")
    result = plugin("keygen", str(key))
    assert result.exit_code == 1 and key.read_text() == "precious"
