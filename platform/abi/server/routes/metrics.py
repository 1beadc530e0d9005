"""GET /api/v1/metrics: Prometheus exposition of this worker process's collectors."""

from __future__ import annotations

from prometheus_client import CONTENT_TYPE_LATEST, REGISTRY, generate_latest
from quart import Blueprint, Response

from abi.server.auth import require_scope

blueprint = Blueprint("metrics", __name__, url_prefix="/api/v1")


@blueprint.get("/metrics")
@require_scope("metrics:read")
async def metrics() -> Response:
    """Request counts and latency histograms by route and status, plus every collector that
    subsystems register on the default Prometheus registry."""
    return Response(generate_latest(REGISTRY), content_type=CONTENT_TYPE_LATEST)
