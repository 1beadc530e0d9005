"""The hostile suite: every case in wasm-plugins/hostile/ is contained with its typed error,
through the sandbox API and through `abi plugin run`, and the host keeps working after each."""

from __future__ import annotations

import importlib.util
import json
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
import wasmtime

from abi.config import PluginSettings
from abi.errors import AbiError
from abi.plugins.bundle import Bundle, verify_integrity
from abi.plugins.manifest import parse_manifest
from abi.plugins.sandbox import Sandbox

HOSTILE = Path(__file__).resolve().parents[2] / "wasm-plugins" / "hostile"
CASES: dict[str, dict[str, Any]] = json.loads((HOSTILE / "cases.json").read_text())
ECHO_WAT = """
(module
  (memory (export "memory") 1)
  (func (export "abi_version") (result i32) i32.const 1)
  (func (export "abi_alloc") (param i32) (result i32) i32.const 1024)
  (func (export "handle") (param $p i32) (param $n i32) (result i64)
    (i64.or (i64.shl (i64.extend_i32_u (local.get $p)) (i64.const 32))
            (i64.extend_i32_u (local.get $n)))))
"""


@pytest.fixture(scope="module")
def sandbox() -> Sandbox:
    return Sandbox(PluginSettings())


def _host_still_works(sandbox: Sandbox) -> None:
    manifest = parse_manifest('name = "echo"\nversion = "1.0.0"\n')
    plugin = sandbox.bind(sandbox.load(manifest, bytes(wasmtime.wat2wasm(ECHO_WAT))))
    assert plugin.call(b"still alive").output == b"still alive"


def _run_in_sandbox(sandbox: Sandbox, case: str, spec: dict[str, Any]) -> None:
    bundle = Bundle.from_path(HOSTILE / case)
    if case.endswith(".abi"):
        verify_integrity(bundle)
    loaded = sandbox.load_bundle(bundle)
    granted = sorted(set(bundle.manifest.capabilities) - set(spec.get("deny", [])))
    plugin = sandbox.bind(loaded, grants=granted)
    try:
        plugin.call(b"hostile input")
    finally:
        plugin.close()


@pytest.mark.parametrize("case", sorted(CASES))
def test_contained_in_the_sandbox(sandbox: Sandbox, case: str) -> None:
    spec = CASES[case]
    with pytest.raises(AbiError) as info:
        _run_in_sandbox(sandbox, case, spec)
    assert info.value.code == spec["code"], info.value.message
    _host_still_works(sandbox)


def _run_cli(case: str, folder: Path) -> subprocess.CompletedProcess[bytes]:
    (folder / "input").write_bytes(b"hostile input")
    args = [sys.executable, "-m", "abi.cli.main", "plugin", "run", str(HOSTILE / case)]
    args += ["--input", str(folder / "input"), "--data-dir", str(folder / "data")]
    for name in CASES[case].get("deny", []):
        args += ["--deny", name]
    return subprocess.run(args, capture_output=True, timeout=120, check=False)


@pytest.fixture(scope="module")
def cli_runs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """Every case through `abi plugin run` (separate processes, a few at a time)."""
    with ThreadPoolExecutor(max_workers=4) as pool:
        futures = {
            case: pool.submit(_run_cli, case, tmp_path_factory.mktemp(case)) for case in CASES
        }
        return {case: future.result() for case, future in futures.items()}


@pytest.mark.parametrize("case", sorted(CASES))
def test_contained_by_the_cli(cli_runs: dict[str, Any], case: str) -> None:
    spec = CASES[case]
    done = cli_runs[case]
    assert done.returncode == 1, done.stderr.decode()
    assert f"error[{spec['code']}]" in done.stderr.decode()
    assert done.stdout == b""


def _call_error(sandbox: Sandbox, case: str) -> AbiError:
    """The error a call of ``case`` ends with (every capability granted, empty input)."""
    plugin = sandbox.bind(sandbox.load_bundle(Bundle.from_path(HOSTILE / case)))
    try:
        with pytest.raises(AbiError) as info:
            plugin.call(b"")
    finally:
        plugin.close()
    return info.value


def test_call_failures_report_usage(sandbox: Sandbox) -> None:
    usage = getattr(_call_error(sandbox, "host_call_flood"), "usage", None)
    assert usage is not None and usage.host_calls == 1001


def test_memory_bomb_stays_under_its_cap(sandbox: Sandbox) -> None:
    usage = getattr(_call_error(sandbox, "memory_bomb"), "usage", None)
    assert usage is not None and usage.memory_bytes <= 16 * 1024 * 1024


def test_denied_case_runs_when_granted(sandbox: Sandbox) -> None:
    error = _call_error(sandbox, "denied_capability")
    assert error.code == "plugin.guest_error"  # no kv store here: the host says why


def test_committed_modules_match_their_sources() -> None:
    spec = importlib.util.spec_from_file_location("hostile_build", HOSTILE / "build.py")
    assert spec is not None and spec.loader is not None
    build = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(build)
    for path, expected in build.expected_modules().items():
        assert path.read_bytes() == expected, f"{path} is stale: run wasm-plugins/hostile/build.py"
