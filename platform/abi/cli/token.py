"""``abi token``: get an access token, from a running server or straight from local data."""

from __future__ import annotations

from pathlib import Path

import click
import httpx

from abi.cli.common import data_dir_option, emit_json, handle_errors, open_platform
from abi.errors import Unauthenticated, Unavailable


@click.command("token")
@click.option("--client-id", required=True, envvar="ABI_CLIENT_ID", show_envvar=True)
@click.option("--client-secret", required=True, envvar="ABI_CLIENT_SECRET", show_envvar=True)
@click.option("--scope", default=None, help="Space-separated scopes (default: all allowed).")
@click.option("--server", default=None, help="Base URL of a running server (e.g. http://h:8080).")
@data_dir_option
@click.option("--json", "as_json", is_flag=True, help="Print the whole token response as JSON.")
@handle_errors
def token(
    *,
    client_id: str,
    client_secret: str,
    scope: str | None,
    server: str | None,
    data_dir: Path | None,
    config_file: Path | None,
    as_json: bool,
) -> None:
    """Print an access token for a client (with --server through POST /api/v1/oauth/token,
    otherwise issued from the local data directory)."""
    if server:
        form = {"grant_type": "client_credentials", **({"scope": scope} if scope else {})}
        try:
            response = httpx.post(
                f"{server.rstrip('/')}/api/v1/oauth/token",
                data=form,
                auth=(client_id, client_secret),
                timeout=30,
            )
        except httpx.HTTPError as exc:
            raise Unavailable(f"cannot reach {server}: {exc}") from exc
        if response.status_code != 200:
            error = response.json().get("error", {})
            raise Unauthenticated(
                f"token request refused ({response.status_code}): {error.get('message', '')}"
            )
        result = response.json()
    else:
        with open_platform(data_dir, config_file) as platform:
            found = platform.security.clients.find(client_id)
            if found is None or not found.check_client_secret(client_secret):
                raise Unauthenticated("client id or secret is wrong", code="auth.invalid_client")
            result = platform.security.tokens.issue(found, scope)
    if as_json:
        emit_json(result)
    else:
        click.echo(result["access_token"])
