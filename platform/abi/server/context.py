"""Access to the Platform from inside a request or WebSocket handler."""

from __future__ import annotations

from typing import TYPE_CHECKING, cast

from quart import current_app

if TYPE_CHECKING:
    from abi.runtime import Platform

PLATFORM_KEY = "abi.platform"


def current_platform() -> Platform:
    """The Platform the running app was created for."""
    return cast("Platform", current_app.extensions[PLATFORM_KEY])
