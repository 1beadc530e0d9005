"""``abi client create|list``: manage a tenant's OAuth2 clients on local data."""

from __future__ import annotations

from pathlib import Path

import click

from abi.cli.common import data_dir_option, emit_json, handle_errors, open_platform
from abi.runtime import Platform
from abi.security import Role
from abi.store.tenants import Tenant


def _tenant(platform: Platform, ref: str) -> Tenant:
    """A tenant by id (``t_...``) or by name."""
    return platform.tenants.get(ref) if ref.startswith("t_") else platform.tenants.by_name(ref)


@click.group("client")
def client() -> None:
    """Create and list OAuth2 clients."""


@client.command("create")
@click.option("--tenant", "tenant_id", required=True, help="Tenant id (t_...) or name.")
@click.option("--scopes", default=None, help="Space-separated scopes (default: the role's).")
@click.option(
    "--role",
    type=click.Choice([r.value for r in Role]),
    default=Role.DEVELOPER.value,
    show_default=True,
)
@click.option("--name", default=None, help="A label for the client (default: the role).")
@data_dir_option
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@handle_errors
def create(
    *,
    tenant_id: str,
    scopes: str | None,
    role: str,
    name: str | None,
    data_dir: Path | None,
    config_file: Path | None,
    as_json: bool,
) -> None:
    """Create a client in a tenant (its secret is printed once)."""
    with open_platform(data_dir, config_file) as platform:
        tenant = _tenant(platform, tenant_id)
        created, secret = platform.security.clients.create(
            tenant.id, name or role, Role(role), scopes
        )
        platform.security.record(tenant.id, "client.create", actor="cli", target=created.client_id)
    result = {**created.to_public(), "client_secret": secret}
    if as_json:
        emit_json(result)
        return
    click.echo(f"client {created.client_id} in {tenant.name} ({result['scopes']})")
    click.echo(f"  client_secret: {secret}   (shown once)")


@client.command("list")
@click.option("--tenant", "tenant_id", required=True, help="Tenant id (t_...) or name.")
@data_dir_option
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@handle_errors
def list_clients(
    tenant_id: str, data_dir: Path | None, config_file: Path | None, as_json: bool
) -> None:
    """List a tenant's clients (never their secrets)."""
    with open_platform(data_dir, config_file) as platform:
        tenant = _tenant(platform, tenant_id)
        rows = [c.to_public() for c in platform.security.clients.list(tenant.id)]
    if as_json:
        emit_json(rows)
        return
    for row in rows:
        click.echo(f"{row['client_id']}  {row['role']:<14} {row['name']}  {row['scopes']}")
