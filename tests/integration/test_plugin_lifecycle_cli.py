"""``abi plugin publish|trust|install|grant|list|uninstall|dev`` on local data and against a
live server."""

from __future__ import annotations

import base64
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result

from abi.cli.main import cli
from abi.plugins.signing import generate_key, public_key_id
from helpers.plugin_bundles import make_bundle, register_key, write_folder


def _run(*args: str) -> Result:
    result = CliRunner().invoke(cli, list(args), catch_exceptions=False)
    return result


def _ok(*args: str) -> str:
    result = _run(*args)
    assert result.exit_code == 0, result.output
    return result.output


def test_local_publish_install_grant_list_uninstall(tmp_path: Path) -> None:
    data = ["--data-dir", str(tmp_path / "data")]
    _ok("tenant", "create", "acme", *data)
    key = generate_key()
    bundle = tmp_path / "echo.abi"
    bundle.write_bytes(make_bundle("echo", "1.0.0", key, capabilities={"kv": {}}))
    refused = _run("plugin", "publish", str(bundle), *data)
    assert refused.exit_code == 1
    assert "plugin.unknown_publisher" in refused.output
    _ok("plugin", "trust", public_key_id(key), "--name", "tests", *data)
    _ok("plugin", "publish", str(bundle), *data)
    listed = json.loads(_ok("plugin", "list", "--json", *data))
    assert [row["name"] for row in listed] == ["echo"]
    installed = json.loads(_ok("plugin", "install", "echo", "--tenant", "acme", *data))
    assert installed["declined"] == ["kv"]
    granted = json.loads(_ok("plugin", "grant", "echo", "--grant", "kv", "--tenant", "acme", *data))
    assert granted["grants"] == {"kv": {}}
    _ok("plugin", "uninstall", "echo", "--tenant", "acme", *data)
    missing = _run("plugin", "uninstall", "echo", "--tenant", "acme", *data)
    assert "plugin.not_installed" in missing.output


def test_bad_grant_parameters_are_reported(tmp_path: Path) -> None:
    result = _run("plugin", "install", "echo", "--grant", "http={oops", "--data-dir", str(tmp_path))
    assert result.exit_code == 1
    assert "parameters must be JSON" in result.output


@pytest.fixture
def acme(tenant_factory: Callable[[str], Any]) -> Any:
    return tenant_factory("acme")


def test_remote_publish_install_and_list(live_server: Any, acme: Any) -> None:
    key = register_key(live_server.platform.plugins.registry)
    remote = ["--server", live_server.url, "--token", acme.token()]
    bundle = live_server.platform.settings.data_dir / "echo.abi"
    bundle.write_bytes(make_bundle("echo", "1.0.0", key))
    _ok("plugin", "publish", str(bundle), *remote)
    installed = json.loads(_ok("plugin", "install", "echo", *remote))
    assert installed["version"] == "1.0.0"
    assert "echo" in _ok("plugin", "list", *remote)
    denied = _run("plugin", "install", "echo", "--server", live_server.url, "--token", "bad")
    assert denied.exit_code == 1
    assert "auth." in denied.output


def test_remote_dev_once_publishes_installs_and_calls(
    live_server: Any, acme: Any, tmp_path: Path
) -> None:
    folder = write_folder(tmp_path / "echo", "echo", "1.0.0", tag="dev", capabilities={"kv": {}})
    sample = tmp_path / "in.txt"
    sample.write_bytes(b"ping")
    remote = ["--server", live_server.url, "--token", acme.token()]
    output = _ok("plugin", "dev", str(folder), "--once", "--input", str(sample), *remote)
    body = json.loads(output[output.index("{") :])
    assert base64.b64decode(body["output"]) == b"dev:ping"
    installation = live_server.platform.plugins.installation(acme.tenant_id, "echo")
    assert installation.version.startswith("1.0.0-dev.")
    assert installation.grants == {"kv": {}}
    assert (folder / ".abi-dev-key.pem").exists()


def test_plugin_config_must_be_a_json_object(tmp_path: Path) -> None:
    config = tmp_path / "cfg.json"
    config.write_text("[1]", encoding="utf-8")
    result = _run(
        "plugin", "install", "echo", "--plugin-config", str(config), "--data-dir", str(tmp_path)
    )
    assert result.exit_code == 1
    assert "must hold a JSON object" in result.output
