"""The Quart app factory, the blueprint list and the Hypercorn configuration.

``create_app(platform)`` serves an already-built Platform (tests, embedding);
``app_from_environment()`` is what each ``abi serve`` worker process loads: it builds and
starts its own Platform from the settings the parent process passed down.
"""

from __future__ import annotations

import json
import logging
import os
import sys
from typing import Any

from hypercorn.config import Config as HypercornConfig
from quart import Blueprint, Quart
from quart_schema import Info, QuartSchema

from abi import __version__
from abi.config import Settings, load_settings
from abi.observability import http as request_tracing
from abi.runtime import Platform
from abi.security import ALL_SCOPES
from abi.server import middleware, schema_cache
from abi.server.context import PLATFORM_KEY
from abi.server.openapi import AbiOpenAPIProvider
from abi.server.routes import (
    admin,
    agents,
    audit,
    clients,
    compute,
    docs,
    health,
    metrics,
    oauth,
    performance,
    plugins,
    tenants,
    traces,
    vectors,
    workflows,
    ws,
)

BLUEPRINTS: list[Blueprint] = [
    health.blueprint,
    metrics.blueprint,
    oauth.blueprint,
    tenants.blueprint,
    clients.blueprint,
    audit.blueprint,
    ws.blueprint,
    docs.blueprint,
    traces.blueprint,
    performance.blueprint,
    admin.blueprint,
    plugins.blueprint,
    vectors.blueprint,
    agents.blueprint,
    workflows.blueprint,
    compute.blueprint,
]
"""Every resource's blueprint; each subsystem adds its own line."""

SETTINGS_ENV = "ABI_SERVE_SETTINGS"
API_PREFIX = "/api/v1"


def create_app(platform: Platform) -> Quart:
    """A Quart app serving ``platform`` (which the caller starts and stops)."""
    app = Quart("abi", static_folder=None)
    app.extensions[PLATFORM_KEY] = platform
    server = platform.settings.server
    app.config["MAX_CONTENT_LENGTH"] = server.max_body_bytes
    app.config["BODY_TIMEOUT"] = 60
    app.json.sort_keys = False  # type: ignore[attr-defined]
    QuartSchema(
        app,
        openapi_path=f"{API_PREFIX}/openapi.json",
        swagger_ui_path=None,
        redoc_ui_path=None,
        scalar_ui_path=None,
        info=Info(title="Abi API", version=__version__),
        conversion_preference="pydantic",
        openapi_provider_class=AbiOpenAPIProvider,
        security_schemes={
            "oauth2": {
                "type": "oauth2",
                "flows": {
                    "clientCredentials": {
                        "tokenUrl": f"{API_PREFIX}/oauth/token",
                        "scopes": {scope: scope for scope in sorted(ALL_SCOPES)},
                    }
                },
            },
            "apiKey": {"type": "apiKey", "in_": "header", "name": "X-API-Key"},
        },
    )
    schema_cache.install()
    middleware.install(app, server)
    request_tracing.install(app, platform.observability)
    for blueprint in BLUEPRINTS:
        app.register_blueprint(blueprint)
    return app


def app_from_environment() -> Quart:
    """The app of one server worker: settings from ``$ABI_SERVE_SETTINGS`` (JSON)."""
    raw = os.environ.get(SETTINGS_ENV)
    settings = Settings.model_validate_json(raw) if raw else load_settings()
    configure_logging(settings.observability.log_level)
    platform = Platform(settings)
    app = create_app(platform)

    @app.before_serving
    async def _start() -> None:
        platform.start()

    @app.after_serving
    async def _stop() -> None:
        platform.stop()

    return app


def configure_logging(level: str) -> None:
    """Log lines (the access log is one JSON object per line) to stderr at ``level``."""
    logging.basicConfig(
        level=getattr(logging, level.upper()), format="%(message)s", stream=sys.stderr
    )


def hypercorn_config(settings: Settings, **overrides: Any) -> HypercornConfig:
    """Hypercorn settings for ``settings.server``: bind, workers (uvloop), TLS with ALPN
    h2/http1.1 when a certificate is set (h2c otherwise), keep-alive limits."""
    server = settings.server
    config = HypercornConfig()
    config.bind = [f"{_host(server.host)}:{server.port}"]
    config.workers = server.workers
    config.worker_class = "uvloop"
    config.keep_alive_max_requests = server.keep_alive_max_requests
    config.accesslog = None
    config.errorlog = "-"
    config.websocket_ping_interval = None
    config.alpn_protocols = ["h2", "http/1.1"]
    config.backlog = 4096
    config.websocket_max_message_size = 1024 * 1024
    if server.certfile is not None:
        config.certfile = str(server.certfile)
        config.keyfile = str(server.keyfile) if server.keyfile else None
    config.application_path = "abi.server.app:app_from_environment()"
    for key, value in overrides.items():
        setattr(config, key, value)
    return config


def settings_environment(settings: Settings) -> dict[str, str]:
    """The environment entry that hands ``settings`` to worker processes."""
    return {SETTINGS_ENV: json.dumps(settings.model_dump(mode="json"))}


def _host(host: str) -> str:
    return f"[{host}]" if ":" in host and not host.startswith("[") else host
