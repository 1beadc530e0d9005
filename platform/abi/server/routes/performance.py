"""GET /api/v1/performance: live figures of each subsystem of this server process.

Every registered component that has a ``performance(tenant_id)`` method contributes a
section; ``tenant_id`` is the caller's tenant, or ``None`` (everything) for platform admins,
so per-tenant figures (plugins, collections) never show another tenant's names.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from quart import Blueprint

from abi.runtime import Platform
from abi.server.auth import current_principal, require_scope
from abi.server.context import current_platform

blueprint = Blueprint("performance", __name__, url_prefix="/api/v1")
log = logging.getLogger("abi.server")

SECTIONS = ("observability", "security", "compute", "vectors", "plugins", "agents")
"""Platform attributes asked for figures, in this order."""


def collect(platform: Platform, tenant_id: str | None) -> dict[str, Any]:
    """Each subsystem's figures; a subsystem that fails reports its error instead."""
    out: dict[str, Any] = {}
    for name in SECTIONS:
        method = getattr(getattr(platform, name, None), "performance", None)
        if not callable(method):
            continue
        try:
            figures = method() if name == "observability" else method(tenant_id)
        except Exception as exc:
            log.exception("performance figures of %s failed", name)
            figures = {"error": f"{type(exc).__name__}: {exc}"}
        if name == "observability":
            out.update(figures)
        else:
            out[name] = figures
    return out


@blueprint.get("/performance")
@require_scope("metrics:read")
async def performance() -> dict[str, Any]:
    """Throughput and latency percentiles over the last minute, per-subsystem figures
    (plugin fuel and time per plugin, vector index stats, compute devices) and the process."""
    principal = current_principal()
    tenant = None if principal.is_platform_admin else principal.tenant_id
    figures = await asyncio.to_thread(collect, current_platform(), tenant)
    return {"scope": "platform" if tenant is None else "tenant", **figures}
