"""Platform administration: POST /api/v1/admin/profile samples the running server."""

from __future__ import annotations

import asyncio
from typing import Literal

from pydantic import BaseModel, Field
from quart import Blueprint, Response
from quart_schema import validate_querystring

from abi.observability.profiler import MAX_SECONDS
from abi.server.auth import require_scope
from abi.server.context import current_platform

blueprint = Blueprint("admin", __name__, url_prefix="/api/v1/admin")


class ProfileQuery(BaseModel):
    seconds: float = Field(10.0, gt=0, le=MAX_SECONDS, description="How long to sample.")
    hz: int = Field(100, ge=1, le=1000, description="Samples per second.")
    format: Literal["text", "folded"] = Field(
        "text", description="text: hottest functions; folded: stacks for flame graphs."
    )


@blueprint.post("/profile")
@require_scope("admin")
@validate_querystring(ProfileQuery)
async def profile(query_args: ProfileQuery) -> Response:
    """Sample every thread of this server process for ``seconds`` and return the profile
    (one worker process: with several workers, the one that took this request)."""
    profiler = current_platform().observability.profiler
    result = await asyncio.to_thread(profiler.run, query_args.seconds, query_args.hz)
    return Response(result.render(query_args.format), content_type="text/plain; charset=utf-8")
