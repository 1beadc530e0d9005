"""Tenants: platform admins create and list them; every principal can read its own."""

from __future__ import annotations

import asyncio

from pydantic import BaseModel, Field
from quart import Blueprint
from quart_schema import validate_request, validate_response

from abi.errors import NotFound
from abi.server.auth import current_principal, require_scope
from abi.server.context import current_platform
from abi.store.tenants import Tenant

blueprint = Blueprint("tenants", __name__, url_prefix="/api/v1/tenants")


class TenantCreate(BaseModel):
    name: str = Field(description="1-63 lowercase letters, digits or '-'.")


class TenantOut(BaseModel):
    tenant_id: str
    name: str
    created_at: str

    @classmethod
    def of(cls, tenant: Tenant) -> TenantOut:
        return cls(tenant_id=tenant.id, name=tenant.name, created_at=tenant.created_at.isoformat())


class TenantCreated(TenantOut):
    client_id: str = Field(description="The tenant's first tenant-admin client.")
    client_secret: str = Field(description="Shown once; store it now.")


class TenantList(BaseModel):
    tenants: list[TenantOut]


@blueprint.post("")
@require_scope("admin", "tenants:write")
@validate_request(TenantCreate)
@validate_response(TenantCreated, 201)
async def create_tenant(data: TenantCreate) -> tuple[TenantCreated, int]:
    """Create a tenant and its admin client (platform admins only)."""
    security = current_platform().security
    issued = await asyncio.to_thread(
        security.create_tenant, data.name, actor=current_principal().client_id
    )
    out = TenantCreated(
        **TenantOut.of(issued.tenant).model_dump(),
        client_id=issued.client.client_id,
        client_secret=issued.client_secret,
    )
    return out, 201


@blueprint.get("")
@require_scope("tenants:read")
@validate_response(TenantList)
async def list_tenants() -> TenantList:
    """Every tenant for platform admins; the caller's own tenant otherwise."""
    principal = current_principal()
    directory = current_platform().tenants
    if principal.is_platform_admin:
        found = await asyncio.to_thread(directory.list)
    else:
        found = [await asyncio.to_thread(directory.get, principal.tenant_id)]
    return TenantList(tenants=[TenantOut.of(t) for t in found])


@blueprint.get("/<tenant_id>")
@require_scope("tenants:read")
@validate_response(TenantOut)
async def get_tenant(tenant_id: str) -> TenantOut:
    """One tenant (another tenant's id reads as not found)."""
    if not current_principal().can_act_on(tenant_id):
        raise NotFound(f"tenant {tenant_id!r} does not exist", code="tenant.not_found")
    return TenantOut.of(await asyncio.to_thread(current_platform().tenants.get, tenant_id))
