"""``abi serve``: run the API with Hypercorn (uvloop workers, HTTP/1.1, h2c, TLS + ALPN h2)."""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Any

import click

from abi.cli.common import data_dir_option, handle_errors, settings_from
from abi.config import Settings
from abi.runtime import Platform


def _server_overrides(**flags: Any) -> dict[str, Any]:
    given = {key: value for key, value in flags.items() if value is not None}
    return {"server": given} if given else {}


def _bootstrap(settings: Settings) -> None:
    """Migrate the store and, on an empty one, create and print the platform admin once."""
    with Platform(settings) as platform:
        issued = platform.security.bootstrap_admin()
    if issued is None:
        return
    click.echo(
        "Created the platform admin client (the secret is shown only now; store it):\n"
        f"  client_id:     {issued.client.client_id}\n"
        f"  client_secret: {issued.client_secret}\n"
        f"  token:         abi token --client-id {issued.client.client_id} "
        "--client-secret <secret> --server http://HOST:PORT",
        err=True,
    )


@click.command("serve")
@data_dir_option
@click.option("--host", default=None, help="Bind address (or $ABI_SERVER_HOST).")
@click.option("--port", type=int, default=None, help="Port (or $ABI_SERVER_PORT).")
@click.option("--workers", type=int, default=None, help="Worker processes ($ABI_SERVER_WORKERS).")
@click.option(
    "--certfile",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="TLS certificate (PEM; enables HTTPS with ALPN h2) or $ABI_SERVER_CERTFILE.",
)
@click.option(
    "--keyfile",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="TLS private key (PEM) or $ABI_SERVER_KEYFILE.",
)
@handle_errors
def serve(
    *,
    data_dir: Path | None,
    config_file: Path | None,
    host: str | None,
    port: int | None,
    workers: int | None,
    certfile: Path | None,
    keyfile: Path | None,
) -> None:
    """Serve the REST + WebSocket API until interrupted."""
    from hypercorn.run import run

    from abi.errors import ConfigError
    from abi.server.app import configure_logging, hypercorn_config, settings_environment

    overrides = _server_overrides(
        host=host, port=port, workers=workers, certfile=certfile, keyfile=keyfile
    )
    settings = settings_from(data_dir, config_file, **overrides)
    if (settings.server.certfile is None) != (settings.server.keyfile is None):
        raise ConfigError("TLS needs both --certfile and --keyfile", key="server.certfile")
    configure_logging(settings.observability.log_level)
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    _bootstrap(settings)
    os.environ.update(settings_environment(settings))
    server = settings.server
    scheme = "https" if server.certfile else "http"
    click.echo(
        f"abi serving on {scheme}://{server.host}:{server.port} "
        f"({server.workers} worker(s), data in {settings.data_dir})",
        err=True,
    )
    sys.exit(run(hypercorn_config(settings)))
