"""``abi plugin publish|install|grant|list|uninstall|trust|dev``: the marketplace from the
command line, on a server (``--server URL --token T``) or on local data (``--data-dir``,
``--tenant``).

Grants are ``--grant NAME`` (the manifest's parameters) or ``--grant 'NAME={json params}'``
to narrow them, e.g. ``--grant 'http={"allowed_hosts": ["api.example.com"]}'``.
"""

from __future__ import annotations

import base64
import functools
import json
import threading
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any, ParamSpec, TypeVar

import click
import httpx

from abi.cli.common import data_dir_option, emit_json, handle_errors, open_platform
from abi.cli.plugin import _read_config, plugin
from abi.errors import AbiError, InvalidInput
from abi.plugins.devmode import DevBuild, DevSession, LocalTarget
from abi.plugins.signing import generate_key, load_private_key, save_private_key
from abi.runtime import Platform

P = ParamSpec("P")
R = TypeVar("R")
Grants = dict[str, dict[str, Any]]


class RemoteError(AbiError):
    """An error answer from the server, with its code and message."""

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message, code=code)
        self.status = status  # type: ignore[misc]


def remote_call(client: httpx.Client, method: str, path: str, **kwargs: Any) -> Any:
    """One request to an Abi server: its JSON answer (None when empty), else a
    :class:`RemoteError` with the server's error code and message."""
    try:
        response = client.request(method, path, **kwargs)
    except httpx.HTTPError as exc:
        raise RemoteError(0, "cli.unreachable", f"cannot reach the server: {exc}") from exc
    if response.is_success:
        return response.json() if response.content else None
    try:
        error = response.json()["error"]
        code, message = error["code"], error["message"]
    except (ValueError, KeyError, TypeError):
        code, message = f"http.{response.status_code}", response.text[:500]
    raise RemoteError(response.status_code, code, message)


class RemoteRegistry:
    """The plugin routes of an Abi server, as one tenant's client."""

    def __init__(self, url: str, token: str, *, timeout: float = 60.0) -> None:
        self.client = httpx.Client(
            base_url=url.rstrip("/"),
            headers={"Authorization": f"Bearer {token}"},
            timeout=timeout,
        )

    def _call(self, method: str, path: str, **kwargs: Any) -> Any:
        return remote_call(self.client, method, f"/api/v1{path}", **kwargs)

    def publish(self, data: bytes) -> None:
        self._call(
            "POST",
            "/plugins",
            content=data,
            headers={"Content-Type": "application/octet-stream"},
        )

    def add_publisher(self, public_key: str, name: str, *, platform_wide: bool = False) -> None:
        body = {"public_key": public_key, "name": name, "platform_wide": platform_wide}
        try:
            self._call("POST", "/publishers", json=body)
        except RemoteError as exc:
            if exc.code != "plugin.publisher_exists":
                raise

    def install(
        self,
        name: str,
        version: str | None,
        grants: Mapping[str, Mapping[str, Any]] | None,
        config: Mapping[str, Any] | None = None,
        with_dependencies: bool = False,
    ) -> Any:
        body: dict[str, Any] = {"version": version, "with_dependencies": with_dependencies}
        if grants is not None:
            body["grants"] = grants
        if config is not None:
            body["config"] = config
        return self._call("POST", f"/plugins/{name}/install", json=body)

    def set_grants(self, name: str, grants: Grants) -> Any:
        return self._call("PUT", f"/plugins/{name}/grants", json={"grants": grants})

    def search(self, query: str | None, capability: str | None) -> Any:
        params = {k: v for k, v in (("q", query), ("capability", capability)) if v}
        return self._call("GET", "/plugins", params=params)["plugins"]

    def uninstall(self, name: str, keep_data: bool) -> None:
        self._call("DELETE", f"/plugins/{name}", params={"keep_data": str(keep_data).lower()})

    def invoke(self, name: str, entry: str | None, data: bytes) -> Any:
        body = {"entry": entry, "input_base64": base64.b64encode(data).decode("ascii")}
        return self._call("POST", f"/plugins/{name}/invoke", json=body)


class LocalRegistry:
    """The same operations on a local platform, as one tenant (``None``: the platform)."""

    def __init__(self, platform: Platform, tenant_id: str | None) -> None:
        self.platform = platform
        self.tenant_id = tenant_id

    def require_tenant(self) -> str:
        if self.tenant_id is None:
            raise InvalidInput("this command needs --tenant NAME (or --server) on local data")
        return self.tenant_id

    def publish(self, data: bytes) -> None:
        self.platform.plugins.publish(data, uploader=self.tenant_id, actor="cli")

    def add_publisher(self, public_key: str, name: str, *, platform_wide: bool = False) -> None:
        owner = None if platform_wide or self.tenant_id is None else self.tenant_id
        self.platform.plugins.registry.add_publisher(public_key, name, tenant_id=owner)

    def install(
        self,
        name: str,
        version: str | None,
        grants: Mapping[str, Mapping[str, Any]] | None,
        config: Mapping[str, Any] | None = None,
        with_dependencies: bool = False,
    ) -> Any:
        installed = self.platform.plugins.install(
            self.require_tenant(),
            name,
            version,
            grants=grants,
            config=config,
            with_dependencies=with_dependencies,
            actor="cli",
        )
        return installed.to_dict(include_config=False)

    def set_grants(self, name: str, grants: Grants) -> Any:
        updated = self.platform.plugins.set_grants(self.require_tenant(), name, grants, actor="cli")
        return updated.to_dict(include_config=False)

    def search(self, query: str | None, capability: str | None) -> Any:
        viewer = self.tenant_id
        return [
            info.to_dict()
            for info in self.platform.plugins.registry.search(
                viewer=viewer, query=query, capability=capability
            )
        ]

    def uninstall(self, name: str, keep_data: bool) -> None:
        self.platform.plugins.uninstall(
            self.require_tenant(), name, keep_data=keep_data, actor="cli"
        )

    def invoke(self, name: str, entry: str | None, data: bytes) -> Any:
        result = self.platform.plugins.invoke(self.require_tenant(), name, entry, data)
        return {
            "output": base64.b64encode(result.output).decode("ascii"),
            "output_format": "base64",
            "usage": result.usage.to_dict(),
        }


Registry = RemoteRegistry | LocalRegistry


def target_options(func: Callable[P, R]) -> Callable[P, R]:
    """``--server/--token`` (remote) or ``--data-dir/--config/--tenant`` (local data)."""
    func = click.option("--server", default=None, help="Abi server URL (remote mode).")(func)
    func = click.option("--token", default=None, help="Bearer token for --server.")(func)
    func = click.option(
        "--tenant", "tenant", default=None, help="Local mode: tenant name or id (t_...)."
    )(func)
    return data_dir_option(func)


@contextmanager
def open_registry(
    server: str | None,
    token: str | None,
    tenant: str | None,
    data_dir: Path | None,
    config_file: Path | None,
) -> Iterator[Registry]:
    """The remote registry when ``--server`` is given, else a local platform's."""
    if server is not None:
        if not token:
            raise InvalidInput("--server needs --token (an access token with plugins scopes)")
        remote = RemoteRegistry(server, token)
        try:
            yield remote
        finally:
            remote.client.close()
        return
    platform = open_platform(data_dir, config_file)
    try:
        tenant_id = None
        if tenant is not None:
            found = (
                platform.tenants.get(tenant)
                if tenant.startswith("t_")
                else platform.tenants.by_name(tenant)
            )
            tenant_id = found.id
        yield LocalRegistry(platform, tenant_id)
    finally:
        platform.stop()


def parse_grants(values: tuple[str, ...]) -> Grants:
    """``("kv", 'http={"allowed_hosts": ["a"]}')`` -> ``{"kv": {}, "http": {...}}``."""
    grants: Grants = {}
    for value in values:
        name, sep, raw = value.partition("=")
        params: Any = {}
        if sep:
            try:
                params = json.loads(raw)
            except json.JSONDecodeError as exc:
                raise InvalidInput(f"--grant {value!r}: parameters must be JSON: {exc}") from exc
            if not isinstance(params, dict):
                raise InvalidInput(f"--grant {value!r}: parameters must be a JSON object")
        grants[name.strip()] = params
    return grants


def registry_command(func: Callable[..., None]) -> Callable[..., None]:
    """Open the registry from the target options and pass it as ``registry``."""

    @functools.wraps(func)
    def wrapper(
        *args: Any,
        server: str | None,
        token: str | None,
        tenant: str | None,
        data_dir: Path | None,
        config_file: Path | None,
        **kwargs: Any,
    ) -> None:
        with open_registry(server, token, tenant, data_dir, config_file) as registry:
            func(*args, registry=registry, **kwargs)

    return wrapper


@plugin.command("publish")
@click.argument("bundle", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@target_options
@handle_errors
@registry_command
def publish(bundle: Path, registry: Registry) -> None:
    """Upload a signed BUNDLE to the marketplace (refused uploads store nothing)."""
    registry.publish(bundle.read_bytes())
    click.echo(f"published {bundle.name}")


@plugin.command("trust")
@click.argument("public_key")
@click.option("--name", required=True, help="Who the key belongs to.")
@click.option("--platform-wide", is_flag=True, help="For every tenant (platform admins).")
@target_options
@handle_errors
@registry_command
def trust(public_key: str, name: str, platform_wide: bool, registry: Registry) -> None:
    """Register a publisher's base64 PUBLIC_KEY (the .pub file of `abi plugin keygen`)."""
    registry.add_publisher(public_key.strip(), name, platform_wide=platform_wide)
    click.echo(f"trusted {name}")


@plugin.command("install")
@click.argument("name")
@click.option("--version", "version", default=None, help="Default: the latest release.")
@click.option("--grant", multiple=True, help="NAME or NAME={json params}; repeatable.")
@click.option("--no-grants", is_flag=True, help="Grant nothing (decline every capability).")
@click.option("--plugin-config", type=click.Path(dir_okay=False, path_type=Path), default=None)
@click.option("--with-dependencies", is_flag=True, help="Also install missing dependencies.")
@target_options
@handle_errors
@registry_command
def install(
    *,
    name: str,
    version: str | None,
    grant: tuple[str, ...],
    no_grants: bool,
    plugin_config: Path | None,
    with_dependencies: bool,
    registry: Registry,
) -> None:
    """Install (or upgrade) plugin NAME for the tenant."""
    grants = parse_grants(grant) if grant or no_grants else None
    result = registry.install(
        name,
        version,
        grants,
        _read_config(plugin_config) if plugin_config is not None else None,
        with_dependencies,
    )
    emit_json(result)


@plugin.command("grant")
@click.argument("name")
@click.option("--grant", multiple=True, help="NAME or NAME={json params}; repeatable.")
@target_options
@handle_errors
@registry_command
def grant(name: str, grant: tuple[str, ...], registry: Registry) -> None:
    """Replace the grants of the tenant's installation of NAME (none given: revoke all)."""
    emit_json(registry.set_grants(name, parse_grants(grant)))


@plugin.command("list")
@click.option("--query", "-q", default=None, help="Text in the name or description.")
@click.option("--capability", default=None, help="Requests this capability.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@target_options
@handle_errors
@registry_command
def list_plugins(
    query: str | None, capability: str | None, as_json: bool, registry: Registry
) -> None:
    """List the marketplace's plugins."""
    rows = registry.search(query, capability)
    if as_json:
        emit_json(rows)
        return
    for row in rows:
        caps = ",".join(row["capabilities"]) or "-"
        click.echo(f"{row['name']:24} {row['latest_version']:16} {caps:30} {row['description']}")


@plugin.command("uninstall")
@click.argument("name")
@click.option("--keep-data", is_flag=True, help="Keep the plugin's kv data.")
@target_options
@handle_errors
@registry_command
def uninstall(name: str, keep_data: bool, registry: Registry) -> None:
    """Uninstall NAME from the tenant."""
    registry.uninstall(name, keep_data)
    click.echo(f"uninstalled {name}")


class _RemoteDevTarget:
    """Dev builds over HTTP: the :class:`abi.plugins.devmode.DevTarget` of a server."""

    def __init__(self, remote: RemoteRegistry) -> None:
        self.remote = remote

    def add_publisher(self, public_key: str, name: str) -> None:
        self.remote.add_publisher(public_key, name)

    def publish(self, data: bytes) -> None:
        self.remote.publish(data)

    def install(self, name: str, version: str, grants: Mapping[str, Mapping[str, Any]]) -> None:
        self.remote.install(name, version, grants)


def _dev_key(path: Path) -> Any:
    if path.exists():
        return load_private_key(path)
    key = generate_key()
    path.parent.mkdir(parents=True, exist_ok=True)
    save_private_key(key, path)
    return key


@plugin.command("dev")
@click.argument("folder", type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.option(
    "--key",
    "key_file",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="Signing key (default: FOLDER/.abi-dev-key.pem, created on first use).",
)
@click.option("--grant", multiple=True, help="Grant only these capabilities (default: all).")
@click.option("--once", is_flag=True, help="Build, publish and install once, then exit.")
@click.option("--input", "input_file", default=None, type=click.Path(path_type=Path))
@click.option("--entry", default=None, help="With --input: the entry point to call.")
@target_options
@handle_errors
@registry_command
def dev(
    *,
    folder: Path,
    key_file: Path | None,
    grant: tuple[str, ...],
    once: bool,
    input_file: Path | None,
    entry: str | None,
    registry: Registry,
) -> None:
    """Watch FOLDER and put every change live for the tenant (Ctrl-C stops); with --input,
    call the plugin after each build and print its output."""
    key = _dev_key(key_file or folder / ".abi-dev-key.pem")
    if isinstance(registry, RemoteRegistry):
        target: Any = _RemoteDevTarget(registry)
    else:
        target = LocalTarget(registry.platform.plugins, registry.require_tenant(), actor="cli")
    session = DevSession(folder, target, key, grants=grant or None)
    payload = input_file.read_bytes() if input_file is not None else None

    def built(build: DevBuild) -> None:
        click.echo(f"live: {build.name}@{build.version}", err=True)
        if payload is not None:
            try:
                emit_json(registry.invoke(build.name, entry, payload))
            except AbiError as exc:
                click.echo(f"error[{exc.code}]: {exc.message}", err=True)

    def failed(exc: AbiError) -> None:
        click.echo(f"build failed: error[{exc.code}]: {exc.message}", err=True)

    if once:
        built(session.push())
        return
    stop = threading.Event()
    try:
        session.watch(stop=stop, on_build=built, on_error=failed)
    except KeyboardInterrupt:
        stop.set()
