"""``abi tenant create|list``: manage tenants on local data, without a running server."""

from __future__ import annotations

from pathlib import Path

import click

from abi.cli.common import data_dir_option, emit_json, handle_errors, open_platform


@click.group("tenant")
def tenant() -> None:
    """Create and list tenants."""


@tenant.command("create")
@click.argument("name")
@data_dir_option
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@handle_errors
def create(name: str, data_dir: Path | None, config_file: Path | None, as_json: bool) -> None:
    """Create tenant NAME and its tenant-admin client (the secret is printed once)."""
    with open_platform(data_dir, config_file) as platform:
        issued = platform.security.create_tenant(name, actor="cli")
    if as_json:
        emit_json(issued.to_dict())
        return
    click.echo(f"tenant {issued.tenant.name} ({issued.tenant.id})")
    click.echo(f"  admin client_id:     {issued.client.client_id}")
    click.echo(f"  admin client_secret: {issued.client_secret}   (shown once)")


@tenant.command("list")
@data_dir_option
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@handle_errors
def list_tenants(data_dir: Path | None, config_file: Path | None, as_json: bool) -> None:
    """List every tenant."""
    with open_platform(data_dir, config_file) as platform:
        tenants = platform.tenants.list()
    rows = [{"tenant_id": t.id, "name": t.name, "created_at": t.created_at} for t in tenants]
    if as_json:
        emit_json(rows)
        return
    for row in rows:
        click.echo(f"{row['tenant_id']}  {row['name']}  {row['created_at']:%Y-%m-%d %H:%M}")
