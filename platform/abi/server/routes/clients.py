"""OAuth2 clients and API keys of the caller's tenant (platform admins may name a tenant)."""

from __future__ import annotations

import asyncio

from pydantic import BaseModel, Field
from quart import Blueprint
from quart_schema import validate_request, validate_response

from abi.errors import NotFound
from abi.security import Principal, Role
from abi.security.clients import check_delegation, grantable_scopes
from abi.server.auth import current_principal, require_scope
from abi.server.context import current_platform

blueprint = Blueprint("clients", __name__, url_prefix="/api/v1")


class CredentialCreate(BaseModel):
    name: str = Field(min_length=1, max_length=128)
    role: str = Field("developer", description="tenant_admin, developer or reader.")
    scopes: str | None = Field(None, description="Space-separated; default: all of the role's.")
    tenant_id: str | None = Field(None, description="Platform admins only: another tenant.")


class ApiKeyCreate(CredentialCreate):
    ttl_days: int | None = Field(None, ge=1, le=3650)


class CredentialOut(BaseModel):
    tenant_id: str
    name: str
    role: str
    scopes: str
    created_at: str


class ClientOut(CredentialOut):
    client_id: str


class ClientCreated(ClientOut):
    client_secret: str = Field(description="Shown once; store it now.")


class ClientList(BaseModel):
    clients: list[ClientOut]


class ApiKeyOut(CredentialOut):
    key_id: str
    expires_at: str | None


class ApiKeyCreated(ApiKeyOut):
    api_key: str = Field(description="Shown once; send as 'X-API-Key' or 'ApiKey <key>'.")


class ApiKeyList(BaseModel):
    api_keys: list[ApiKeyOut]


async def _target_tenant(principal: Principal, requested: str | None) -> str:
    if requested is None or requested == principal.tenant_id:
        return principal.tenant_id
    if not principal.is_platform_admin:
        raise NotFound(f"tenant {requested!r} does not exist", code="tenant.not_found")
    await asyncio.to_thread(current_platform().tenants.get, requested)
    return requested


async def _checked(data: CredentialCreate) -> tuple[str, Role]:
    principal = current_principal()
    tenant_id = await _target_tenant(principal, data.tenant_id)
    role = Role.parse(data.role)
    check_delegation(principal.scopes, role, grantable_scopes(role, data.scopes))
    return tenant_id, role


async def _audit(tenant_id: str, action: str, target: str, **details: str) -> None:
    """Record ``action`` on ``target`` by the caller in the tenant's audit log."""
    await asyncio.to_thread(
        current_platform().security.record,
        tenant_id,
        action,
        actor=current_principal().client_id,
        target=target,
        **details,
    )


@blueprint.post("/clients")
@require_scope("clients:write")
@validate_request(CredentialCreate)
@validate_response(ClientCreated, 201)
async def create_client(data: CredentialCreate) -> tuple[ClientCreated, int]:
    """Create an OAuth2 client; its secret is in this response only."""
    tenant_id, role = await _checked(data)
    security = current_platform().security
    client, secret = await asyncio.to_thread(
        security.clients.create, tenant_id, data.name, role, data.scopes
    )
    await _audit(tenant_id, "client.create", client.client_id, role=role.value)
    return ClientCreated(**client.to_public(), client_secret=secret), 201


@blueprint.get("/clients")
@require_scope("clients:read")
@validate_response(ClientList)
async def list_clients() -> ClientList:
    """The caller's tenant's clients (without secrets)."""
    found = await asyncio.to_thread(
        current_platform().security.clients.list, current_principal().tenant_id
    )
    return ClientList(clients=[ClientOut(**c.to_public()) for c in found])


@blueprint.delete("/clients/<client_id>")
@require_scope("clients:write")
async def delete_client(client_id: str) -> tuple[str, int]:
    """Delete a client of the caller's tenant; its tokens stop working."""
    principal = current_principal()
    await asyncio.to_thread(
        current_platform().security.delete_client,
        principal.tenant_id,
        client_id,
        actor=principal.client_id,
    )
    return "", 204


@blueprint.post("/api-keys")
@require_scope("clients:write")
@validate_request(ApiKeyCreate)
@validate_response(ApiKeyCreated, 201)
async def create_api_key(data: ApiKeyCreate) -> tuple[ApiKeyCreated, int]:
    """Create an API key; the key is in this response only."""
    tenant_id, role = await _checked(data)
    security = current_platform().security
    record, key = await asyncio.to_thread(
        security.api_keys.create, tenant_id, data.name, role, data.scopes, data.ttl_days
    )
    await _audit(tenant_id, "apikey.create", record.key_id)
    return ApiKeyCreated(**record.to_public(), api_key=key), 201


@blueprint.get("/api-keys")
@require_scope("clients:read")
@validate_response(ApiKeyList)
async def list_api_keys() -> ApiKeyList:
    """The caller's tenant's API keys (ids and metadata only)."""
    found = await asyncio.to_thread(
        current_platform().security.api_keys.list, current_principal().tenant_id
    )
    return ApiKeyList(api_keys=[ApiKeyOut(**k.to_public()) for k in found])


@blueprint.delete("/api-keys/<key_id>")
@require_scope("clients:write")
async def revoke_api_key(key_id: str) -> tuple[str, int]:
    """Revoke an API key of the caller's tenant."""
    tenant_id = current_principal().tenant_id
    await asyncio.to_thread(current_platform().security.api_keys.revoke, tenant_id, key_id)
    await _audit(tenant_id, "apikey.revoke", key_id)
    return "", 204
