"""Dev mode: version rewriting, one-shot pushes and reloads on file changes (watchfiles)."""

from __future__ import annotations

import queue
import threading
from pathlib import Path
from typing import Any

import pytest

from abi.errors import AbiError
from abi.plugins.devmode import DevBuild, DevSession, LocalTarget, dev_version, with_dev_version
from abi.plugins.signing import generate_key
from abi.runtime import Platform
from helpers.plugin_bundles import write_folder


def test_dev_version_appends_a_build_number() -> None:
    assert dev_version("1.2.0", 7) == "1.2.0-dev.7"
    assert dev_version("1.2.0-rc.1", 7) == "1.2.0-rc.1.dev.7"


def test_only_the_top_level_version_is_rewritten() -> None:
    text = 'name = "x"\nversion = "1.0.0"  # mine\n[dependencies]\nversion = "^1"\n'
    assert with_dev_version(text, "1.0.0-dev.3") == (
        'name = "x"\nversion = "1.0.0-dev.3"  # mine\n[dependencies]\nversion = "^1"\n'
    )


@pytest.fixture
def tenant(platform: Platform) -> str:
    return platform.tenants.create("acme").id


@pytest.fixture
def target(platform: Platform, tenant: str) -> LocalTarget:
    return LocalTarget(platform.plugins, tenant)


def _session(target: LocalTarget, folder: Path, **kw: Any) -> DevSession:
    """A dev session for ``folder`` with a fresh signing key."""
    return DevSession(folder, target, generate_key(), **kw)


def test_push_publishes_a_private_dev_version_and_installs_it(
    platform: Platform, tenant: str, target: LocalTarget, tmp_path: Path
) -> None:
    session = _session(target, write_folder(tmp_path / "echo", "echo", "1.0.0", tag="first"))
    build = session.push()
    assert build.version.startswith("1.0.0-dev.")
    assert platform.plugins.registry.get("echo", viewer=tenant).visibility == "private"
    assert platform.plugins.invoke(tenant, "echo", None, b"x").output == b"first:x"
    second = session.push()
    assert second.version > build.version
    assert platform.plugins.installation(tenant, "echo").version == second.version


def test_push_grants_only_the_chosen_capabilities(
    platform: Platform, tenant: str, target: LocalTarget, tmp_path: Path
) -> None:
    folder = write_folder(tmp_path / "echo", "echo", "1.0.0", capabilities={"kv": {}, "stream": {}})
    _session(target, folder, grants=["kv"]).push()
    installed = platform.plugins.installation(tenant, "echo")
    assert installed.grants == {"kv": {}}
    assert installed.declined == ("stream",)


def test_watch_reloads_on_change_and_survives_a_broken_build(
    platform: Platform, tenant: str, target: LocalTarget, tmp_path: Path
) -> None:
    folder = write_folder(tmp_path / "echo", "echo", "1.0.0", tag="first")
    session = _session(target, folder)
    events: queue.Queue[DevBuild | AbiError] = queue.Queue()
    stop = threading.Event()
    watcher = threading.Thread(
        target=session.watch, kwargs={"stop": stop, "on_build": events.put, "on_error": events.put}
    )
    watcher.start()
    try:
        assert isinstance(events.get(timeout=30), DevBuild)
        (folder / "plugin.wasm").write_bytes(b"\0asm broken")
        assert isinstance(events.get(timeout=30), AbiError)
        assert platform.plugins.invoke(tenant, "echo", None, b"x").output == b"first:x"
        write_folder(folder, "echo", "1.0.0", tag="second")
        latest = events.get(timeout=30)
        while not isinstance(latest, DevBuild):
            latest = events.get(timeout=30)
    finally:
        stop.set()
        watcher.join(10)
    assert platform.plugins.invoke(tenant, "echo", None, b"x").output == b"second:x"


def test_a_name_owned_by_another_publisher_is_refused(target: LocalTarget, tmp_path: Path) -> None:
    first = write_folder(tmp_path / "a", "echo", "1.0.0")
    _session(target, first).push()
    with pytest.raises(AbiError) as caught:
        _session(target, first).push()
    assert caught.value.code == "plugin.name_taken"
