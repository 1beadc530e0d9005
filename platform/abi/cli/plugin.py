"""``abi plugin``: run plugins locally in the sandbox, make keys, sign and pack bundles.

Other modules add their commands to the same group (``new``/``build`` in
cli/plugin_author.py, ``publish``/``install``/... in cli/plugin_registry.py).
"""

from __future__ import annotations

import base64
import json
import sys
from pathlib import Path
from typing import Any

import click

from abi.cli.common import data_dir_option, emit_json, handle_errors, settings_from
from abi.errors import InvalidInput
from abi.plugins.bundle import BUNDLE_SUFFIX, SIGNATURE_NAME, Bundle, verify, verify_integrity
from abi.plugins.errors import GrantInvalid, PluginCallError
from abi.plugins.host.base import HostServices
from abi.plugins.kvstore import FileKeyValueStore, MemoryKeyValueStore
from abi.plugins.sandbox import Sandbox
from abi.plugins.signing import (
    Signature,
    generate_key,
    load_private_key,
    public_key_id,
    save_private_key,
)


@click.group("plugin")
def plugin() -> None:
    """Write, sign, pack and run plugins."""


def _check_signature(bundle: Bundle, trusted: tuple[str, ...]) -> Signature:
    """Integrity, plus trust when ``trusted`` names publishers."""
    return verify(bundle, trusted) if trusted else verify_integrity(bundle)


def _load_bundle(path: Path, max_module_bytes: int, trusted: tuple[str, ...]) -> Bundle:
    bundle = Bundle.from_path(path, max_module_bytes=max_module_bytes)
    if path.is_file() or bundle.signature is not None:
        _check_signature(bundle, trusted)
    elif trusted:
        raise InvalidInput(f"{path} is not signed; --trusted-key needs a signed plugin")
    return bundle


def _grants(requested: set[str], grant: tuple[str, ...], deny: tuple[str, ...]) -> list[str]:
    for name in (*grant, *deny):
        if name not in requested:
            raise GrantInvalid(
                f"capability {name!r} is not requested by this plugin "
                f"(it requests: {', '.join(sorted(requested)) or 'none'})"
            )
    chosen = set(grant) if grant else set(requested)
    return sorted(chosen - set(deny))


def _output_json(data: bytes) -> dict[str, Any]:
    try:
        return {"output": data.decode("utf-8")}
    except UnicodeDecodeError:
        return {"output": base64.b64encode(data).decode("ascii"), "encoding": "base64"}


def _read_input(source: str) -> bytes:
    if source == "-":
        return sys.stdin.buffer.read()
    try:
        return Path(source).read_bytes()
    except OSError as exc:
        raise InvalidInput(f"cannot read input {source}: {exc.strerror}") from exc


def _read_config(path: Path | None) -> dict[str, Any]:
    if path is None:
        return {}
    try:
        value = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as exc:
        raise InvalidInput(f"--plugin-config {path}: {exc}") from exc
    if not isinstance(value, dict):
        raise InvalidInput(f"--plugin-config {path} must hold a JSON object")
    return value


def _stderr_sink(chunk: bytes) -> None:
    sys.stderr.buffer.write(chunk)
    sys.stderr.buffer.flush()


@plugin.command("run")
@click.argument("path", type=click.Path(exists=True, path_type=Path))
@click.option(
    "--input", "input_file", default="-", show_default=True, help="Input file ('-': stdin)."
)
@click.option("--entry", default=None, help="Entry point (default: the manifest's first).")
@click.option("--json", "as_json", is_flag=True, help='Print {"output", "usage"} as JSON.')
@click.option("--grant", multiple=True, help="Grant only these capabilities (repeatable).")
@click.option("--deny", multiple=True, help="Deny these capabilities (repeatable).")
@click.option(
    "--plugin-config",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="JSON file with the plugin's config values.",
)
@click.option(
    "--kv-dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="Keep kv state in this folder (default: in memory for this run).",
)
@click.option("--trusted-key", multiple=True, help="Require a signature by this publisher key.")
@click.option("--fresh", is_flag=True, help="Strict isolation: a new instance for the call.")
@click.option("--no-cache", is_flag=True, help="Do not use the on-disk compile cache.")
@data_dir_option
@handle_errors
def run(
    *,
    path: Path,
    input_file: str,
    entry: str | None,
    as_json: bool,
    grant: tuple[str, ...],
    deny: tuple[str, ...],
    plugin_config: Path | None,
    kv_dir: Path | None,
    trusted_key: tuple[str, ...],
    fresh: bool,
    no_cache: bool,
    data_dir: Path | None,
    config_file: Path | None,
) -> None:
    """Run PATH (a plugin folder or a bundle) on the input, under the platform's limits.

    The output bytes alone go to stdout; streamed chunks go to stderr as they arrive,
    followed by the usage (--json puts output, chunks and usage in one JSON object on
    stdout). A contained failure exits with status 1 and `error[<code>]: <message>` on
    stderr. Every requested capability is granted unless --grant/--deny say otherwise.
    """
    settings = settings_from(data_dir, config_file)
    bundle = _load_bundle(path, settings.plugins.max_module_bytes, trusted_key)
    data = _read_input(input_file)
    sandbox = Sandbox.from_settings(settings, cache=not no_cache)
    loaded = sandbox.load_bundle(bundle)
    kv = FileKeyValueStore(kv_dir) if kv_dir else MemoryKeyValueStore()
    grants = _grants(set(bundle.manifest.capabilities), grant, deny)
    out = sys.stdout.buffer
    sink = None if as_json else _stderr_sink
    plugin_obj = sandbox.bind(
        loaded,
        grants=grants,
        config=_read_config(plugin_config),
        services=HostServices(kv=kv),
        fresh=fresh,
        pool_size=1,
    )
    try:
        result = plugin_obj.call(data, entry, sink=sink)
    except PluginCallError as exc:
        if exc.usage is not None:
            click.echo(f"usage: {json.dumps(exc.usage.to_dict(), sort_keys=True)}", err=True)
        raise
    finally:
        plugin_obj.close()
    if as_json:
        body = _output_json(result.output)
        body["usage"] = result.usage.to_dict()
        body["chunks"] = [_output_json(c)["output"] for c in result.chunks]
        emit_json(body)
        return
    out.write(result.output)
    out.flush()
    click.echo(f"usage: {json.dumps(result.usage.to_dict(), sort_keys=True)}", err=True)


@plugin.command("keygen")
@click.argument("key_file", type=click.Path(dir_okay=False, path_type=Path))
@handle_errors
def keygen(key_file: Path) -> None:
    """Create an Ed25519 publisher key in KEY_FILE (mode 0600) and KEY_FILE.pub."""
    if key_file.exists():
        raise InvalidInput(f"{key_file} exists; refusing to overwrite a key")
    key = generate_key()
    save_private_key(key, key_file)
    public = public_key_id(key)
    key_file.with_name(key_file.name + ".pub").write_text(public + "\n", encoding="ascii")
    click.echo(public)


def _key_option(func: Any) -> Any:
    return click.option(
        "--key",
        "key_file",
        required=True,
        type=click.Path(exists=True, dir_okay=False, path_type=Path),
        help="Publisher private key (from `abi plugin keygen`).",
    )(func)


@plugin.command("sign")
@click.argument("path", type=click.Path(exists=True, path_type=Path))
@_key_option
@handle_errors
def sign(path: Path, key_file: Path) -> None:
    """Sign PATH: write signature.json into a plugin folder, or re-sign a bundle in place."""
    key = load_private_key(key_file)
    bundle = Bundle.from_path(path).signed(key)
    assert bundle.signature is not None
    if path.is_dir():
        (path / SIGNATURE_NAME).write_bytes(bundle.signature.to_json())
    else:
        path.write_bytes(bundle.to_bytes())
    click.echo(f"signed {bundle.manifest.key} as {bundle.signature.publisher}")


@plugin.command("pack")
@click.argument("folder", type=click.Path(exists=True, file_okay=False, path_type=Path))
@_key_option
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path), default=None)
@handle_errors
def pack(folder: Path, key_file: Path, out: Path | None) -> None:
    """Build a signed bundle (one file) from a plugin folder."""
    bundle = Bundle.from_folder(folder)
    target = out or Path(f"{bundle.manifest.name}-{bundle.manifest.version}{BUNDLE_SUFFIX}")
    target.write_bytes(bundle.pack(load_private_key(key_file)))
    click.echo(str(target))


@plugin.command("verify")
@click.argument("path", type=click.Path(exists=True, path_type=Path))
@click.option("--trusted-key", multiple=True, help="Also require one of these publishers.")
@data_dir_option
@handle_errors
def verify_cmd(
    path: Path, trusted_key: tuple[str, ...], data_dir: Path | None, config_file: Path | None
) -> None:
    """Check a bundle's signature and module (imports, exports, ABI version)."""
    settings = settings_from(data_dir, config_file)
    bundle = Bundle.from_path(path, max_module_bytes=settings.plugins.max_module_bytes)
    trusted = (*trusted_key, *settings.plugins.trusted_publishers)
    signature = _check_signature(bundle, trusted)
    loaded = Sandbox.from_settings(settings, cache=False).load_bundle(bundle)
    emit_json(
        {
            "plugin": bundle.manifest.key,
            "publisher": signature.publisher,
            "module_sha256": loaded.sha256,
            "capabilities": sorted(bundle.manifest.capabilities),
        }
    )


@plugin.command("inspect")
@click.argument("path", type=click.Path(exists=True, path_type=Path))
@handle_errors
def inspect(path: Path) -> None:
    """Print a plugin's manifest, digests and signer (nothing is verified or run)."""
    bundle = Bundle.from_path(path)
    body = bundle.manifest.to_dict()
    body["module_sha256"] = bundle.module_sha256
    body["module_bytes"] = len(bundle.module)
    body["publisher"] = bundle.signature.publisher if bundle.signature else None
    emit_json(body)
