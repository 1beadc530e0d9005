"""Plugins: the marketplace and each tenant's installations.

- ``POST /api/v1/plugins``: upload a signed bundle (raw ``application/octet-stream`` body or
  a multipart field ``bundle``); developers and above.
- ``GET /api/v1/plugins``: list and search (``q``, ``capability``, ``publisher``,
  ``installed``).
- ``GET /api/v1/plugins/{name}``: the plugin, its versions and the caller's installation;
  ``GET .../versions``: every version with its manifest.
- ``PUT /api/v1/plugins/{name}``: enable/disable the tenant's installation or replace its
  config; ``DELETE``: uninstall it from the tenant.
- ``POST .../install`` (install, upgrade, downgrade), ``PUT .../grants``, ``POST .../reload``,
  ``GET .../health`` (run the health and metrics exports now),
  ``POST .../invoke`` (``stream: true`` runs it in the background and streams chunks as
  events on ``plugins.<name>.stream``, which the WebSocket hub delivers).
- ``GET/POST /api/v1/publishers``, ``DELETE /api/v1/publishers/{id}``: publisher keys.

Installing, granting and uninstalling change what code runs with the tenant's data: they need
a tenant admin (or a platform admin).
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import json
from collections.abc import Callable
from typing import Any, Literal, TypeVar

from pydantic import BaseModel, Field
from quart import Blueprint, request
from quart_schema import validate_querystring, validate_request, validate_response
from werkzeug.exceptions import RequestEntityTooLarge

from abi.errors import Forbidden, InvalidInput, PayloadTooLarge
from abi.plugins.errors import PluginCallError
from abi.plugins.installations import Installation
from abi.plugins.registry import EVERYTHING, PluginInfo
from abi.plugins.service import PluginService, stream_topic
from abi.security import Principal, Role
from abi.server.auth import current_principal, require_scope
from abi.server.context import current_platform

blueprint = Blueprint("plugins", __name__, url_prefix="/api/v1")

PUBLISHER_ROLES = frozenset({Role.DEVELOPER, Role.TENANT_ADMIN, Role.PLATFORM_ADMIN})
ADMIN_ROLES = frozenset({Role.TENANT_ADMIN, Role.PLATFORM_ADMIN})
_background: set[asyncio.Task[Any]] = set()
T = TypeVar("T")


def _service() -> PluginService:
    service: PluginService = current_platform().plugins
    return service


def _require_role(principal: Principal, roles: frozenset[Role], what: str) -> None:
    if principal.role not in roles:
        names = ", ".join(sorted(r.value for r in roles))
        raise Forbidden(f"{what} needs one of the roles {names}", code="auth.insufficient_role")


def _viewer(principal: Principal) -> str | None:
    return EVERYTHING if principal.is_platform_admin else principal.tenant_id


def _caller(roles: frozenset[Role], what: str) -> Principal:
    """The current principal, refused unless it has one of ``roles`` (``what`` it is doing)."""
    principal = current_principal()
    _require_role(principal, roles, what)
    return principal


async def _for_tenant(
    principal: Principal, action: Callable[..., T], *args: Any, **kwargs: Any
) -> T:
    """``action(principal's tenant, *args, actor=principal, **kwargs)`` off the event loop."""
    return await asyncio.to_thread(
        action, principal.tenant_id, *args, actor=principal.client_id, **kwargs
    )


# Models ---------------------------------------------------------------------------------------


class PluginSummary(BaseModel):
    name: str
    visibility: Literal["public", "private"]
    publisher: str
    description: str
    latest_version: str
    capabilities: list[str]
    versions: list[str]
    created_at: str
    updated_at: str
    installed_version: str | None = None


class PluginList(BaseModel):
    plugins: list[PluginSummary]


class ListQuery(BaseModel):
    q: str | None = Field(None, description="Text in the name or description.")
    capability: str | None = Field(None, description="Latest version requests this capability.")
    publisher: str | None = Field(None, description="Base64 publisher key.")
    installed: bool | None = Field(None, description="Only (un)installed for the caller's tenant.")
    limit: int = Field(100, ge=1, le=1000)
    offset: int = Field(0, ge=0)


class InstallationOut(BaseModel):
    name: str
    version: str
    enabled: bool
    grants: dict[str, dict[str, Any]]
    declined: list[str]
    config: dict[str, Any] | None = Field(
        description="The config values (tenant admins only: they may hold secrets)."
    )
    lifecycle: dict[str, Any]
    revision: int
    installed_at: str
    updated_at: str

    @classmethod
    def of(cls, installation: Installation) -> InstallationOut:
        admin = current_principal().role in ADMIN_ROLES
        return cls(**{"config": None, **installation.to_dict(include_config=admin)})


class PluginDetail(PluginSummary):
    manifest: dict[str, Any]
    installation: InstallationOut | None = None


class PublishedOut(BaseModel):
    name: str
    version: str
    created: bool
    bundle_digest: str
    publisher: str
    capabilities: list[str]
    dependencies: dict[str, str]


class InstallRequest(BaseModel):
    version: str | None = Field(None, description="Default: the latest release.")
    grants: dict[str, dict[str, Any]] | None = Field(
        None,
        description="Capability -> parameters (narrowing what the manifest asks). Replaces "
        "the grants; requested capabilities left out are declined. Omit to keep the current "
        "grants (a version that requests new capabilities then needs grants).",
    )
    config: dict[str, Any] | None = Field(None, description="Omit to keep the current config.")
    enabled: bool | None = None
    with_dependencies: bool = Field(False, description="Also install missing dependencies.")


class GrantsRequest(BaseModel):
    grants: dict[str, dict[str, Any]]


class PluginUpdate(BaseModel):
    enabled: bool | None = None
    config: dict[str, Any] | None = None


class UninstallQuery(BaseModel):
    keep_data: bool = Field(False, description="Keep the plugin's kv data for a reinstall.")


class InvokeRequest(BaseModel):
    entry: str | None = Field(None, description="Entry point (default: the first).")
    input: str | None = Field(None, description="UTF-8 text input.")
    input_base64: str | None = Field(None, description="Binary input, base64.")
    input_json: Any = Field(None, description="A JSON value, passed serialized.")
    stream: bool = Field(
        False,
        description="Run in the background; chunks and the result arrive as events on "
        "plugins.<name>.stream (subscribe on /api/v1/ws first).",
    )


class InvokeOut(BaseModel):
    output: Any
    output_format: Literal["json", "base64"]
    usage: dict[str, int]
    chunks: list[str] = Field(default_factory=list, description="Streamed chunks, base64.")


class InvokeAccepted(BaseModel):
    invocation_id: str
    topic: str


class PublisherIn(BaseModel):
    public_key: str = Field(description="Base64 raw Ed25519 public key (32 bytes).")
    name: str
    platform_wide: bool = Field(False, description="Platform admins only.")


class PublisherOut(BaseModel):
    id: int
    key_id: str
    tenant_id: str | None
    name: str
    created_at: str


class PublisherList(BaseModel):
    publishers: list[PublisherOut]


def _summary(info: PluginInfo, installed: str | None = None) -> dict[str, Any]:
    return {**info.to_dict(), "installed_version": installed}


# Marketplace --------------------------------------------------------------------------------


def _upload_too_large() -> PayloadTooLarge:
    """The 413 for a bundle over the server's body limit, which Quart applies to every route
    (it has no per-route limit): says which setting to raise when bundles may be larger."""
    body_limit = current_platform().settings.server.max_body_bytes
    bundle_limit = _service().registry.max_bundle_bytes
    message = (
        f"the upload is larger than this server's request-body limit of {body_limit} bytes "
        "(server.max_body_bytes)"
    )
    if body_limit < bundle_limit:
        message += (
            f"; bundles may be up to {bundle_limit} bytes (plugins.max_module_bytes plus the "
            "manifest and signature): raise server.max_body_bytes to that, or publish on the "
            "server's data with `abi plugin publish BUNDLE --data-dir DIR`"
        )
    return PayloadTooLarge(message, max_body_bytes=body_limit, max_bundle_bytes=bundle_limit)


async def _upload_bytes() -> bytes:
    content_type = request.mimetype
    try:
        if content_type == "multipart/form-data":
            files = await request.files
            upload = files.get("bundle")
            if upload is None:
                raise InvalidInput("multipart uploads carry the bundle in the field 'bundle'")
            data: bytes = upload.read()
            return data
        if content_type in ("application/octet-stream", "application/zip"):
            body = await request.get_data(cache=False, as_text=False)
            return body if isinstance(body, bytes) else body.encode()
    except RequestEntityTooLarge as exc:
        raise _upload_too_large() from exc
    raise InvalidInput(
        "upload the bundle as application/octet-stream or multipart/form-data (field 'bundle')",
        code="plugin.bad_upload",
    )


@blueprint.post("/plugins")
@require_scope("plugins:write")
@validate_response(PublishedOut, 201)
@validate_response(PublishedOut, 200)
async def publish() -> tuple[PublishedOut, int]:
    """Upload a signed bundle; refused uploads store nothing."""
    principal = _caller(PUBLISHER_ROLES, "publishing a plugin")
    data = await _upload_bytes()
    published = await asyncio.to_thread(
        _service().publish, data, uploader=principal.tenant_id, actor=principal.client_id
    )
    v = published.version
    out = PublishedOut(
        name=v.name,
        version=v.version,
        created=published.created,
        bundle_digest=v.bundle_digest,
        publisher=v.publisher,
        capabilities=sorted(v.capabilities),
        dependencies=dict(v.dependencies),
    )
    return out, 201 if published.created else 200


@blueprint.get("/plugins")
@require_scope("plugins:read")
@validate_querystring(ListQuery)
@validate_response(PluginList)
async def list_plugins(query_args: ListQuery) -> PluginList:
    """Plugins the caller's tenant can see, by name."""
    principal = current_principal()
    service = _service()

    def work() -> list[dict[str, Any]]:
        installed = {i.name: i.version for i in service.installations.list(principal.tenant_id)}
        names = None
        if query_args.installed:
            names = list(installed)
        found = service.registry.search(
            viewer=_viewer(principal),
            query=query_args.q,
            capability=query_args.capability,
            publisher=query_args.publisher,
            names=names,
            limit=1000,
        )
        if query_args.installed is False:
            found = [info for info in found if info.name not in installed]
        page = found[query_args.offset : query_args.offset + query_args.limit]
        return [_summary(info, installed.get(info.name)) for info in page]

    rows = await asyncio.to_thread(work)
    return PluginList(plugins=[PluginSummary(**row) for row in rows])


@blueprint.get("/plugins/<name>")
@require_scope("plugins:read")
@validate_response(PluginDetail)
async def get_plugin(name: str) -> PluginDetail:
    """The plugin, its versions, the latest manifest and the tenant's installation."""
    principal = current_principal()
    service = _service()

    def work() -> PluginDetail:
        info = service.registry.get(name, viewer=_viewer(principal))
        installation = service.installations.find(principal.tenant_id, name)
        shown = installation.version if installation else info.latest_version
        version = service.registry.version(name, shown, viewer=_viewer(principal))
        return PluginDetail(
            **_summary(info, installation.version if installation else None),
            manifest=version.manifest.to_dict(),
            installation=InstallationOut.of(installation) if installation else None,
        )

    return await asyncio.to_thread(work)


class VersionOut(BaseModel):
    name: str
    version: str
    manifest: dict[str, Any]
    bundle_digest: str
    module_digest: str
    bundle_bytes: int
    publisher: str
    dependencies: dict[str, str]
    created_at: str


class VersionList(BaseModel):
    versions: list[VersionOut]


@blueprint.get("/plugins/<name>/versions")
@require_scope("plugins:read")
@validate_response(VersionList)
async def list_versions(name: str) -> VersionList:
    """Every stored version, oldest first, with its manifest (capabilities it requests)."""
    principal = current_principal()
    found = await asyncio.to_thread(_service().registry.versions, name, viewer=_viewer(principal))
    return VersionList(versions=[VersionOut(**v.to_dict()) for v in found])


# The tenant's installation --------------------------------------------------------------------


@blueprint.post("/plugins/<name>/install")
@require_scope("plugins:write")
@validate_request(InstallRequest)
@validate_response(InstallationOut, 200)
@validate_response(InstallationOut, 201)
async def install(name: str, data: InstallRequest) -> tuple[InstallationOut, int]:
    """Install, upgrade or downgrade the plugin for the caller's tenant."""
    principal = _caller(ADMIN_ROLES, "installing a plugin")
    service = _service()
    existed = await asyncio.to_thread(service.installations.find, principal.tenant_id, name)
    installation = await _for_tenant(
        principal,
        service.install,
        name,
        data.version,
        grants=data.grants,
        config=data.config,
        enabled=data.enabled,
        with_dependencies=data.with_dependencies,
    )
    return InstallationOut.of(installation), 200 if existed else 201


@blueprint.put("/plugins/<name>/grants")
@require_scope("plugins:write")
@validate_request(GrantsRequest)
@validate_response(InstallationOut)
async def set_grants(name: str, data: GrantsRequest) -> InstallationOut:
    """Replace the grants of the installed version."""
    principal = _caller(ADMIN_ROLES, "granting capabilities")
    installation = await _for_tenant(principal, _service().set_grants, name, data.grants)
    return InstallationOut.of(installation)


@blueprint.put("/plugins/<name>")
@require_scope("plugins:write")
@validate_request(PluginUpdate)
@validate_response(InstallationOut)
async def update_installation(name: str, data: PluginUpdate) -> InstallationOut:
    """Enable/disable the tenant's installation or replace its config."""
    principal = _caller(ADMIN_ROLES, "changing a plugin installation")
    installation = await _for_tenant(
        principal, _service().configure, name, enabled=data.enabled, config=data.config
    )
    return InstallationOut.of(installation)


@blueprint.delete("/plugins/<name>")
@require_scope("plugins:write")
@validate_querystring(UninstallQuery)
async def uninstall(name: str, query_args: UninstallQuery) -> tuple[str, int]:
    """Uninstall the plugin from the caller's tenant (its kv data too unless kept)."""
    principal = _caller(ADMIN_ROLES, "uninstalling a plugin")
    await _for_tenant(principal, _service().uninstall, name, keep_data=query_args.keep_data)
    return "", 204


@blueprint.post("/plugins/<name>/reload")
@require_scope("plugins:write")
@validate_response(InstallationOut)
async def reload(name: str) -> InstallationOut:
    """Swap in fresh instances (calls in flight finish on the old ones); returns the new
    init/health/metrics results."""
    installation = await _for_tenant(current_principal(), _service().reload, name)
    return InstallationOut.of(installation)


class CheckOut(BaseModel):
    lifecycle: dict[str, Any] = Field(description="init / health / metrics results, recorded.")
    host: dict[str, Any] = Field(description="This server process's call counters.")


@blueprint.get("/plugins/<name>/health")
@require_scope("plugins:read")
@validate_response(CheckOut)
async def check(name: str) -> CheckOut:
    """Run the plugin's health and metrics exports now for the caller's tenant."""
    principal = current_principal()
    result = await asyncio.to_thread(_service().check, principal.tenant_id, name)
    return CheckOut(**result)


# Calls ------------------------------------------------------------------------------------------


def _input_bytes(data: InvokeRequest) -> bytes:
    given = [x for x in (data.input, data.input_base64, data.input_json) if x is not None]
    if len(given) > 1:
        raise InvalidInput("send one of input, input_base64 or input_json")
    if data.input is not None:
        return data.input.encode("utf-8")
    if data.input_base64 is not None:
        try:
            return base64.b64decode(data.input_base64, validate=True)
        except binascii.Error as exc:
            raise InvalidInput("input_base64 is not valid base64") from exc
    if data.input_json is not None:
        return json.dumps(data.input_json, separators=(",", ":")).encode("utf-8")
    return b""


def _output(raw: bytes) -> tuple[Any, Literal["json", "base64"]]:
    try:
        return json.loads(raw), "json"
    except (UnicodeDecodeError, json.JSONDecodeError):
        return base64.b64encode(raw).decode("ascii"), "base64"


@blueprint.post("/plugins/<name>/invoke")
@require_scope("plugins:write")
@validate_request(InvokeRequest)
@validate_response(InvokeOut, 200)
@validate_response(InvokeAccepted, 202)
async def invoke(name: str, data: InvokeRequest) -> tuple[InvokeOut | InvokeAccepted, int]:
    """Call an entry point; the output comes back as JSON when it is JSON, else base64. A
    failed call answers 422 with the error code and the call's usage in ``details``."""
    principal = current_principal()
    service = _service()
    payload = _input_bytes(data)
    if data.stream:
        # Fail fast (not installed, disabled) before accepting the background call.
        await asyncio.to_thread(service.ensure_callable, principal.tenant_id, name)
        invocation_id = service.new_invocation_id()
        task = asyncio.create_task(
            asyncio.to_thread(
                service.invoke_streaming,
                principal.tenant_id,
                name,
                data.entry,
                payload,
                invocation_id,
            )
        )
        _background.add(task)
        task.add_done_callback(_background.discard)
        return InvokeAccepted(invocation_id=invocation_id, topic=stream_topic(name)), 202
    try:
        result = await service.ainvoke(principal.tenant_id, name, data.entry, payload)
    except PluginCallError as exc:
        if exc.usage is not None:
            exc.details["usage"] = exc.usage.to_dict()
        raise
    output, fmt = _output(result.output)
    out = InvokeOut(
        output=output,
        output_format=fmt,
        usage=result.usage.to_dict(),
        chunks=[base64.b64encode(c).decode("ascii") for c in result.chunks],
    )
    return out, 200


# Publishers ---------------------------------------------------------------------------------------


@blueprint.get("/publishers")
@require_scope("plugins:read")
@validate_response(PublisherList)
async def list_publishers() -> PublisherList:
    """Platform-wide publisher keys and the caller's tenant's own."""
    principal = current_principal()
    found = await asyncio.to_thread(_service().registry.publishers, principal.tenant_id)
    return PublisherList(publishers=[PublisherOut(**p.to_dict()) for p in found])


@blueprint.post("/publishers")
@require_scope("plugins:write")
@validate_request(PublisherIn)
@validate_response(PublisherOut, 201)
async def add_publisher(data: PublisherIn) -> tuple[PublisherOut, int]:
    """Register a publisher key for the tenant (plugins it signs are private to the tenant)
    or, for platform admins with ``platform_wide``, for everyone (public plugins)."""
    principal = _caller(ADMIN_ROLES, "registering a publisher key")
    if data.platform_wide and not principal.is_platform_admin:
        raise Forbidden("only platform admins register platform-wide publisher keys")
    publisher = await _for_tenant(
        principal,
        _service().add_publisher,
        data.public_key,
        data.name,
        platform_wide=data.platform_wide,
    )
    return PublisherOut(**publisher.to_dict()), 201


@blueprint.delete("/publishers/<int:publisher_id>")
@require_scope("plugins:write")
async def remove_publisher(publisher_id: int) -> tuple[str, int]:
    """Remove one of the tenant's publisher keys (platform admins: also platform-wide ones)."""
    principal = _caller(ADMIN_ROLES, "removing a publisher key")
    await _for_tenant(
        principal,
        _service().remove_publisher,
        publisher_id,
        platform_wide=principal.is_platform_admin,
    )
    return "", 204
