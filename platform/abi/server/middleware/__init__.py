"""Cross-cutting request handling: request ids, access log, metrics, CORS, JSON errors."""

from __future__ import annotations

from quart import Quart

from abi.config import ServerSettings
from abi.server.middleware import cors, errors, requests


def install(app: Quart, settings: ServerSettings) -> None:
    """Attach every middleware to ``app`` (order matters: request ids first)."""
    requests.install(app, access_log=settings.access_log)
    cors.install(app, settings.cors_origins)
    errors.install(app)
