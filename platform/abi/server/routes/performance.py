"""GET /api/v1/performance: live figures of each subsystem of this server process.

Platform-wide figures (HTTP throughput and latency percentiles, the process, compute
devices, subsystem health) are shown to every caller with ``metrics:read``; per-tenant
figures (plugin fuel and time per plugin, vector collections, agents' replicas) are the
caller's tenant's, or, for platform admins, those of the tenant named by ``tenant_id``.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from typing import Any

from prometheus_client.metrics import MetricWrapperBase
from pydantic import BaseModel, Field
from quart import Blueprint
from quart_schema import validate_querystring

from abi.errors import Forbidden
from abi.runtime import Platform
from abi.server.auth import current_principal, require_scope
from abi.server.context import current_platform

blueprint = Blueprint("performance", __name__, url_prefix="/api/v1")
log = logging.getLogger("abi.server")


class PerformanceQuery(BaseModel):
    tenant_id: str | None = Field(None, description="Another tenant's figures (platform admins).")


def _samples(metric: MetricWrapperBase, tenant_id: str) -> dict[tuple[str, str], float]:
    """``(plugin, sample suffix or outcome) -> value`` of one tenant's series of ``metric``."""
    out: dict[tuple[str, str], float] = {}
    for family in metric.collect():
        for sample in family.samples:
            if sample.labels.get("tenant") != tenant_id or sample.name.endswith("_created"):
                continue
            kind = sample.labels.get("outcome") or sample.name.removeprefix(family.name)
            if "le" in sample.labels:
                continue
            out[(sample.labels["plugin"], kind)] = sample.value
    return out


def plugin_figures(platform: Platform, tenant_id: str) -> dict[str, Any]:
    """Calls by outcome, fuel, host calls and wall time per plugin since the process started."""
    from abi.plugins import callmetrics

    per: dict[str, dict[str, Any]] = {}
    for (plugin, outcome), value in _samples(callmetrics.CALLS, tenant_id).items():
        per.setdefault(plugin, {"calls": {}})["calls"][outcome] = int(value)
    for name, metric in (("fuel", callmetrics.FUEL), ("host_calls", callmetrics.HOST_CALLS)):
        for (plugin, _), value in _samples(metric, tenant_id).items():
            per.setdefault(plugin, {"calls": {}})[name] = int(value)
    seconds = _samples(callmetrics.SECONDS, tenant_id)
    for plugin, figures in per.items():
        count, total = seconds.get((plugin, "_count"), 0.0), seconds.get((plugin, "_sum"), 0.0)
        figures["mean_call_ms"] = round(total / count * 1000, 3) if count else None
        figures["total_call_seconds"] = round(total, 3)
    return {"service": platform.plugins.health(), "per_plugin": per}


def vector_figures(platform: Platform, tenant_id: str) -> dict[str, Any]:
    """Every collection of the tenant: size, memory, WAL, search/insert latency, cache."""
    return {"store": platform.vectors.health(), **platform.vectors.stats(tenant_id)}


def compute_figures(platform: Platform, _tenant_id: str) -> dict[str, Any]:
    """The backend, the OpenCL devices in use and their calibrated dispatch thresholds."""
    return dict(platform.compute.describe())


def agent_figures(platform: Platform, tenant_id: str) -> dict[str, Any]:
    """The agent service and each of the tenant's agents' replicas (load, latency, circuit)."""
    agents = platform.agents
    return {
        "service": agents.health(),
        "agents": {
            agent.name: agents.replicas.snapshot(tenant_id, agent.id)
            for agent in agents.registry.list(tenant_id)
        },
    }


SECTIONS: dict[str, tuple[str, Callable[[Platform, str], dict[str, Any]]]] = {
    "plugins": ("plugins", plugin_figures),
    "vectors": ("vectors", vector_figures),
    "compute": ("compute", compute_figures),
    "agents": ("agents", agent_figures),
}
"""Section name -> (the Platform attribute it needs, the function that reads its figures)."""


def collect(platform: Platform, tenant_id: str) -> dict[str, Any]:
    """Every subsystem's figures; one that fails reports its error instead."""
    out: dict[str, Any] = platform.observability.performance()
    out["events"] = {"published": getattr(platform.events, "published", None)}
    out["cluster"] = platform.cluster.health()
    for name, (attribute, figures) in SECTIONS.items():
        if not hasattr(platform, attribute):
            continue
        try:
            out[name] = figures(platform, tenant_id)
        except Exception as exc:
            log.exception("performance figures of %s failed", name)
            out[name] = {"error": f"{type(exc).__name__}: {exc}"}
    return out


@blueprint.get("/performance")
@require_scope("metrics:read")
@validate_querystring(PerformanceQuery)
async def performance(query_args: PerformanceQuery) -> dict[str, Any]:
    """Throughput and latency percentiles over the last minute, plugin fuel and time per
    plugin, vector collection stats, compute devices, agents and the process."""
    principal = current_principal()
    tenant = query_args.tenant_id or principal.tenant_id
    if not principal.can_act_on(tenant):
        raise Forbidden(
            "only platform admins may read another tenant's figures",
            code="performance.forbidden",
        )
    figures = await asyncio.to_thread(collect, current_platform(), tenant)
    return {"tenant_id": tenant, **figures}
